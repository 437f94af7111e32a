"""The six yunkefu services; each is its own Flask app, database and worker."""
