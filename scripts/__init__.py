"""Developer scripts: the stack launcher, the terminal chat."""
