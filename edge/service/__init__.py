"""Running as a systemd service: the installer and the sd_notify protocol."""
