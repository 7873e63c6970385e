/**
 * Real network faults for tests: {@link io.tether.testkit.fault.NetworkLab} builds a server and a
 * device network namespace joined by a veth pair, runs programs inside them
 * ({@link io.tether.testkit.fault.NamespaceProcess}), and injects faults with the kernel's own
 * tools: iptables DROP (power loss, radio gone, one-way loss), REJECT with tcp-reset (a middlebox
 * RST), tc netem delay where the kernel has it, and {@link io.tether.testkit.fault.DelayProxy}
 * where it does not. Needs root; {@link io.tether.testkit.fault.NetworkLab#unavailableReason()}
 * says why it cannot run, for tests to skip with.
 */
package io.tether.testkit.fault;
