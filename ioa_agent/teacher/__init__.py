"""Teachers: the Teacher protocol and its implementations."""
