// Package e2e runs the built lienthong and partnersim binaries as processes, as an operator
// would, and checks what the gateway made of a simulated population against its ground truth.
package e2e
