package io.tether.cli.fault;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;

/**
 * What every fault test shares: a fresh {@link FaultRig} (namespaces, veth, logs) per test, named
 * after it, closed afterwards whatever happened, and a check that no child process reported a
 * Netty leak.
 */
abstract class FaultTestBase {
    protected FaultRig rig;
    protected String name;

    @BeforeEach
    void lab(TestInfo info) {
        name = getClass().getSimpleName() + "." + info.getTestMethod().orElseThrow().getName();
        rig = FaultRig.create(name);
    }

    @AfterEach
    void cleanUp() {
        if (rig != null) {
            rig.close();
            rig.assertNoLeaks();
        }
    }
}
