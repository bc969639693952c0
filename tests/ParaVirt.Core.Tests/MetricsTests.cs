using System.Diagnostics.Metrics;
using ParaVirt.Abi;
using ParaVirt.Core.Cpu;
using ParaVirt.Core.Diagnostics;
using ParaVirt.Core.Engine;
using ParaVirt.Core.Machine;
using ParaVirt.Vmm;

namespace ParaVirt.Core.Tests;

/// <summary>
/// The <c>ParaVirt</c> meter: a MeterListener sees every VM's exits by reason and hypercalls by
/// name, exactly, while the VM lives and after it is disposed; the VM count follows creation and
/// disposal. (The counters are process-wide; these tests run one at a time and measure differences.)
/// </summary>
[NonParallelizable]
public sealed class MetricsTests
{
    /// <summary>Makes <paramref name="consoleWrites"/> empty ConsoleWrite hypercalls, then a Shutdown with exit code 0.</summary>
    private sealed class CountingVcpu(int consoleWrites) : IVcpuBackend
    {
        private Registers _registers = new() { Rip = 0x200000, Rsp = 0x201000 };
        private int _runs;

        public ref Registers Registers => ref _registers;

        public void Run(ref VcpuExit exit)
        {
            bool last = _runs++ == consoleWrites;
            _registers.Rax = (ulong)(last ? Hypercall.Shutdown : Hypercall.ConsoleWrite);
            _registers.Rdi = last ? 0UL : 0x200000;
            _registers.Rsi = 0;
            _registers.Rdx = 0;
            exit.Reason = ExitReason.Hypercall;
        }

        public void Kick()
        {
        }

        public void ClearKick()
        {
        }

        public ulong ReadControlRegister(int index) => 0;

        public void ResetForEntry() => _registers = new Registers { Rip = 0x200000, Rsp = 0x201000 };

        public void Dispose()
        {
        }
    }

    /// <summary>One collection of every ParaVirt instrument: (instrument, tag value) to value.</summary>
    private static Dictionary<(string, string), long> Collect()
    {
        var values = new Dictionary<(string, string), long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ParaVirtMetrics.MeterName)
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            values[(instrument.Name, tags.Length == 0 ? "" : tags[0].Value?.ToString() ?? "")] = value);
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => values[(instrument.Name, "")] = value);
        listener.Start();
        listener.RecordObservableInstruments();
        return values;
    }

    private static long Exits(Dictionary<(string, string), long> values, ExitReason reason) => values.GetValueOrDefault((ParaVirtMetrics.ExitsInstrument, reason.ToString()));

    private static long Calls(Dictionary<(string, string), long> values, string name) => values.GetValueOrDefault((ParaVirtMetrics.HypercallsInstrument, name));

    [Test]
    public void AListenerSeesEveryExitAndHypercallOfARunExactlyAndKeepsThemAfterDispose()
    {
        Dictionary<(string, string), long> before = Collect();
        var vm = MachineBuilder.Create(new FakeEngine(() => new CountingVcpu(37))).WithMemory(4UL << 20).Build().Vm;
        Dictionary<(string, string), long> created = Collect();
        Assert.That(created[(ParaVirtMetrics.VmsInstrument, "")], Is.EqualTo(before.GetValueOrDefault((ParaVirtMetrics.VmsInstrument, "")) + 1));

        VmStopReason stop = vm.Run(TimeSpan.FromSeconds(30));
        Assert.That(stop.Kind, Is.EqualTo(VmStopKind.GuestShutdown), stop.Message);
        Dictionary<(string, string), long> ran = Collect();
        Assert.Multiple(() =>
        {
            Assert.That(Exits(ran, ExitReason.Hypercall) - Exits(before, ExitReason.Hypercall), Is.EqualTo(38));
            Assert.That(Exits(ran, ExitReason.PortIo) - Exits(before, ExitReason.PortIo), Is.Zero);
            Assert.That(Calls(ran, "ConsoleWrite") - Calls(before, "ConsoleWrite"), Is.EqualTo(37));
            Assert.That(Calls(ran, "Shutdown") - Calls(before, "Shutdown"), Is.EqualTo(1));
        });

        vm.Dispose();
        Dictionary<(string, string), long> disposed = Collect();
        Assert.Multiple(() =>
        {
            Assert.That(disposed[(ParaVirtMetrics.VmsInstrument, "")], Is.EqualTo(before.GetValueOrDefault((ParaVirtMetrics.VmsInstrument, ""))));
            Assert.That(Exits(disposed, ExitReason.Hypercall), Is.EqualTo(Exits(ran, ExitReason.Hypercall)), "a disposed VM's exits stay counted");
            Assert.That(Calls(disposed, "ConsoleWrite"), Is.EqualTo(Calls(ran, "ConsoleWrite")));
        });
        vm.Dispose();
        Assert.That(Exits(Collect(), ExitReason.Hypercall), Is.EqualTo(Exits(ran, ExitReason.Hypercall)), "disposing twice counts once");
    }

    [Test]
    public void TheMeterPublishesTheDocumentedInstruments()
    {
        using var vm = MachineBuilder.Create(new FakeEngine()).WithMemory(4UL << 20).Build().Vm;
        var published = new List<(string Name, string? Unit, string Kind)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter.Name == "ParaVirt")
                published.Add((instrument.Name, instrument.Unit, instrument.GetType().Name));
        };
        listener.Start();
        Assert.That(published.OrderBy(p => p.Name), Is.EqualTo(new[]
        {
            ("paravirt.vm.exits", "{exit}", "ObservableCounter`1"),
            ("paravirt.vm.hypercalls", "{call}", "ObservableCounter`1"),
            ("paravirt.vms", "{vm}", "ObservableUpDownCounter`1"),
        }));
    }
}
