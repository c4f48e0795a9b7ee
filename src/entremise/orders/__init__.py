"""Digital jobs (DJobs): offers, orders through a cart, delivery through the platform, revisions."""
