"""mlopskit."""
