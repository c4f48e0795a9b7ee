"""Terms: versioned documents, acceptance evidence, notice periods, withdrawal and waivers."""
