# The `tinybench_run` Renode monitor command. IronPython 2.7 inside Renode: loaded with
# `include @tinybench_monitor.py` by run.robot, then called as `tinybench_run "spec.txt"`.
#
# It feeds the host's UART input one byte at a time, records every translated block executed
# (as (previous block, block) edges, split into segments at each read of the DWT cycle counter,
# counted by EdgeCounter.cs, compiled here with Renode's C# compiler),
# stops when the firmware idles on an empty receiver, faults or spends its budget, and writes
# what happened to a text file that tinybench.simulators.renode parses. It also gives registers
# that Renode leaves as zero the values the built-in simulator gives them (spec `ready`,
# `read_value`), so the firmware takes the same path on both.
#
# Device accesses are observed with peripheral read/write hooks, not bus watchpoints: a
# watchpoint makes Renode cut the running block and translate it again, which would split the
# block counts. With UpdateContextOnLoadAndStore the PC is exact inside a device access.
# Written in the common subset of Python 2.7 and 3 (no f-strings or %-formatting: the trace
# file holds decimal numbers made with str()).
import System
from Antmicro.Renode.Core import EmulationManager
from Antmicro.Renode.Peripherals.CPU import ICpuSupportingGdb
from Antmicro.Renode.Utilities import AdHocCompiler
from System import Action, Func, Int64, UInt32, UInt64
from System.Reflection import Assembly
from System.Threading import ManualResetEventSlim


def _read_spec(path):
    spec = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            if key:
                spec[key] = value
    return spec


def _compiled_type(source, name):
    """Type `name` from C# file `source`, compiled with Renode's own compiler."""
    return Assembly.LoadFrom(AdHocCompiler().Compile(source)).GetType(name)


def _line(key, *numbers):
    return " ".join([key] + [str(int(n)) for n in numbers])


def _hex_list(text):
    return [[int(x, 16) for x in item.split(":")] for item in text.split(",") if item]


class _Run:
    def __init__(self, spec, machine):
        self.spec = spec
        self.machine = machine
        self.cpu = machine["sysbus.cpu"]
        self.uart = machine[spec["uart"]]
        with open(spec["input"], "rb") as f:
            self.data = f.read()
        self.fed = 0  # bytes handed to the UART receiver
        self.consumed = 0  # receive-data reads by the firmware
        self.empty_polls = 0
        self.idle_polls = int(spec["idle_polls"])
        self.budget = int(spec["budget"])
        self.output = []
        self.marks = []
        counter = _compiled_type(spec["counter_source"], "Tinybench.EdgeCounter")
        arguments = System.Array[System.Object](
            [UInt64(self.budget), Action(lambda: self.stop("budget"))])
        self.counter = System.Activator.CreateInstance(counter, arguments)
        self.reason = None
        self.stop_at = None  # (block, its instructions, pc) where the run stopped
        self.done = ManualResetEventSlim(False)
        self.reads = {}  # peripheral -> {offset: f(value read) -> value the firmware gets}
        self.writes = {}  # peripheral -> {offset: f(value written)}

    def stop(self, reason):
        if self.reason is None:
            self.reason = reason
            self.counter.Stopped = True
            self.stop_at = self.place()
            self.machine.PauseAndRequestEmulationPause(True)
            self.done.Set()

    def place(self):
        """(block address, its instructions, pc) of the instruction running now."""
        counter = self.counter
        return (counter.Prev, counter.PrevInstructions, int(self.cpu.PC.RawValue))

    def on_status_read(self, value):
        if self.fed > self.consumed:
            return value
        if self.fed < len(self.data):
            self.uart.WriteChar(System.Byte(ord(self.data[self.fed])))
            self.fed += 1
            peripheral, offset = self.locate(int(self.spec["status"], 16))
            return peripheral.ReadDoubleWord(Int64(offset))
        self.empty_polls += 1
        if self.empty_polls >= self.idle_polls:
            self.stop("idle")
        return value

    def on_rx_read(self, value):
        self.consumed += 1
        self.empty_polls = 0
        return value

    def on_tx_write(self, value):
        self.empty_polls = 0
        self.output.append(int(value) & 0xFF)

    def on_cyccnt_read(self, value):
        self.counter.NewSegment()
        self.marks.append(self.place())
        return value

    def on_fault(self, cpu, pc):
        self.stop("fault")

    def locate(self, address):
        """(peripheral, offset in it) of a bus address."""
        found = self.machine.SystemBus.WhatIsAt(UInt64(address))
        return found.Peripheral, address - int(found.RegistrationPoint.Range.StartAddress)

    def on_read(self, address, compute):
        peripheral, offset = self.locate(address)
        self.reads.setdefault(peripheral, {})[offset] = compute

    def on_write(self, address, observe):
        peripheral, offset = self.locate(address)
        self.writes.setdefault(peripheral, {})[offset] = observe

    def follow(self, rules):
        """A read whose ready bits follow enable bits elsewhere: (source, mask, shift) rules."""
        def compute(value):
            value = int(value)
            for source, mask, shift in rules:
                peripheral, offset = self.locate(source)
                value |= (int(peripheral.ReadDoubleWord(Int64(offset))) & mask) << shift
            return value
        return compute

    def install(self):
        spec = self.spec
        self.on_read(int(spec["status"], 16), self.on_status_read)
        self.on_read(int(spec["rx"], 16), self.on_rx_read)
        self.on_write(int(spec["tx"], 16), self.on_tx_write)
        self.on_read(int(spec["cyccnt"], 16), self.on_cyccnt_read)
        ready = {}
        for read, source, mask, shift in _hex_list(spec.get("ready", "")):
            ready.setdefault(read, []).append((source, mask, shift))
        for read, rules in ready.items():
            self.on_read(read, self.follow(rules))
        for address, value in _hex_list(spec.get("read_value", "")):
            self.on_read(address, lambda _, value=value: value)

        sysbus = self.machine.SystemBus
        for peripheral, by_offset in self.reads.items():
            def after_read(value, offset, by_offset=by_offset):
                compute = by_offset.get(int(offset))
                return UInt32(int(compute(value)) & 0xFFFFFFFF) if compute else value
            sysbus.SetHookAfterPeripheralRead[UInt32](
                peripheral, Func[UInt32, Int64, UInt32](after_read), None)
        for peripheral, by_offset in self.writes.items():
            def before_write(value, offset, by_offset=by_offset):
                observe = by_offset.get(int(offset))
                if observe:
                    observe(value)
                return value
            sysbus.SetHookBeforePeripheralWrite[UInt32](
                peripheral, Func[UInt32, Int64, UInt32](before_write), None)

        for address in _hex_list(spec["faults"]):
            self.cpu.AddHook(UInt64(address[0]), Action[ICpuSupportingGdb, UInt64](self.on_fault))
        self.cpu.UpdateContextOnLoadAndStore = True
        self.cpu.SetHookAtBlockBegin(Action[UInt64, UInt32](self.counter.OnBlock))

    def run(self):
        """Start, wait for a stop, and leave the emulation paused."""
        emulation = EmulationManager.Instance.CurrentEmulation
        emulation.StartAll()
        if not self.done.Wait(System.TimeSpan.FromSeconds(float(self.spec["timeout_s"]))):
            self.reason = "timeout"
            self.counter.Stopped = True
            emulation.PauseAll()
            self.stop_at = self.place()
            return
        # stop() asked from the CPU thread for a precise pause; Renode completes it on its
        # own thread, and pausing from here at the same time can deadlock.
        waited = 0
        while emulation.IsStarted and waited < 10000:
            System.Threading.Thread.Sleep(5)
            waited += 5
        if emulation.IsStarted:
            emulation.PauseAll()

    def write(self, path):
        lines = ["exit " + self.reason,
                 _line("instructions", self.cpu.ExecutedInstructions),
                 _line("uart", *self.output),
                 _line("stop", *self.stop_at)]
        lines += [_line("mark", *m) for m in self.marks]
        with open(path, "w") as out:
            out.write("\n".join(lines) + "\n" + self.counter.Dump())


def mc_tinybench_run(spec_path):
    spec = _read_spec(str(spec_path))
    machine = next(iter(EmulationManager.Instance.CurrentEmulation.Machines))
    run = _Run(spec, machine)
    run.install()
    run.run()
    run.write(spec["result"])
