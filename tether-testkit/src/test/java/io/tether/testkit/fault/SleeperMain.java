package io.tether.testkit.fault;

/** A child for {@link NetworkLabIT}: says it is ready, then waits to be stopped (it ignores stdin). */
public final class SleeperMain {
    private SleeperMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        System.out.println("ready " + ProcessHandle.current().pid());
        System.out.flush();
        Thread.sleep(120_000);
    }
}
