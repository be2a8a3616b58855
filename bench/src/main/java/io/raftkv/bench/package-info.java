/** Benchmarks: JMH micro-benchmarks of the node's parts and the end-to-end load generator. */
package io.raftkv.bench;
