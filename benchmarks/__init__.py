"""Benchmarks: speed, memory and accuracy of kycengine beside the tools a bank would use instead."""
