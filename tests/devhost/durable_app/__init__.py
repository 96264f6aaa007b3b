"""A small Durable Functions app that exercises every feature of devhost's durable engine."""
