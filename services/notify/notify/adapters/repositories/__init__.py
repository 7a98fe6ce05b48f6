"""One repository per aggregate, on the unit of work's connection."""
