"""What the algorithms run on: threads, scratch memory under one cap, and BLAS's threads."""
