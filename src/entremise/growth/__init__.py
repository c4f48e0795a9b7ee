"""Growth: providers' personal links (consultation and sign-up), QR codes, banners, referral."""
