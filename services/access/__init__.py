"""Who is calling (decided on the server, never from client state) and the audit log."""
