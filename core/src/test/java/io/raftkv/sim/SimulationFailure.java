package io.raftkv.sim;

/** A safety or liveness property broken in a simulation run: the message names what, the run names how to replay it. */
final class SimulationFailure extends RuntimeException {

    SimulationFailure(String message) {
        super(message);
    }
}
