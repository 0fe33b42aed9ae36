"""One module per dependency kind; each loads its client library on first use."""
