"""The worker: runs due timers and other background jobs (`entremise worker`, `entremise tick`)."""
