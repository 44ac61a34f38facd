*** Comments ***
Runs one firmware ELF on a tinybench board model and writes what happened to ${RESULT}.
Driven by tinybench.simulators.renode through renode-test; all variables come from there.

*** Settings ***
Suite Setup       Setup
Suite Teardown    Teardown
Resource          ${RENODEKEYWORDS}

*** Variables ***
${PLATFORM}       ${EMPTY}
${ELF}            ${EMPTY}
${SPEC}           ${EMPTY}
${MIPS}           100
${QUANTUM}        0.5

*** Test Cases ***
Run Firmware
    Execute Command    include @${CURDIR}/tinybench_monitor.py
    Execute Command    logLevel 3
    Execute Command    mach create "tinybench"
    Execute Command    machine LoadPlatformDescription @${PLATFORM}
    Execute Command    sysbus LoadELF @${ELF}
    Execute Command    sysbus.cpu PerformanceInMips ${MIPS}
    Execute Command    emulation SetGlobalQuantum "${QUANTUM}"
    Execute Command    emulation SetAdvanceImmediately true
    Execute Command    tinybench_run "${SPEC}"
