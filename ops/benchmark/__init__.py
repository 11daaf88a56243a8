"""`telecom benchmark`: message latency, throughput, CPU and memory of the assistant under
simulated customers, against Rasa's default bot on the same machine (docs/benchmarks.md)."""
