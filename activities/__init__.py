"""Side effects only: classes with injected clients, one typed input and output per activity."""
