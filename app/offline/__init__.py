"""The installable app: manifest, service worker and what the phone keeps for offline logging."""
