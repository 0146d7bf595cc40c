"""What the API and the workers share through the database, so that no filesystem is shared:
stored bundles, worker leases (who is alive), layer uses per Docker engine, and the
installation's id."""
