"""Built-in domains: knowledge modules, problem generators and exact solvers."""
