using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using ParaVirt.Cli;
using ParaVirt.Core.Machine;

namespace ParaVirt.Workloads.Tests;

/// <summary>`paravirt compare`: one-line errors for bad command lines, and the JSON file's exact shape.</summary>
[NonParallelizable]
public sealed class CompareCommandTests
{
    private static (int Code, string Out, string Err) Invoke(params string[] args) => InProcessCompare.Invoke(args);

    [TestCase(new[] { "--bogus" }, "unknown option '--bogus'")]
    [TestCase(new[] { "--workload", "no-such-workload" }, "unknown workload 'no-such-workload' (known: console, blk-write, blk-read")]
    [TestCase(new[] { "--json" }, "option '--json' needs a value")]
    [TestCase(new[] { "--quick=yes" }, "option '--quick' takes no value")]
    [TestCase(new[] { "extra" }, "unexpected argument 'extra'")]
    [TestCase(new[] { "--completion", "sometimes" }, "--completion takes poll, interrupt or both, not 'sometimes'")]
    public void A_bad_command_line_is_one_line_and_exit_code_2(string[] args, string message)
    {
        (int code, string stdout, string stderr) = Invoke(args);

        Assert.That(code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(stdout, Is.Empty);
        string[] lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1));
        Assert.That(lines[0], Does.StartWith("paravirt: ").And.Contain(message).And.Contain("see 'paravirt compare --help'"));
    }

    [Test]
    public void A_json_file_in_a_missing_directory_is_refused_before_anything_runs()
    {
        (int code, _, string stderr) = Invoke("--json", "/nonexistent-dir-paravirt/out.json");
        Assert.That(code, Is.EqualTo(ExitCodes.Usage));
        Assert.That(stderr.Trim(), Is.EqualTo("paravirt: --json: the directory '/nonexistent-dir-paravirt' does not exist"));
    }

    [Test]
    public void Help_names_every_workload()
    {
        (int code, string stdout, _) = Invoke("--help");
        Assert.That(code, Is.Zero);
        foreach (WorkloadDefinition w in WorkloadCatalog.All)
            Assert.That(stdout, Does.Contain(w.Name));
    }

    [Test]
    public void A_row_this_host_cannot_virtualize_says_why_instead_of_failing()
    {
        if (!WorkloadRunner.IsAvailable(out string reason))
            Assert.Ignore($"KVM is not usable here: {reason}");
        ParaVirt.Core.Engine.PlatformBehaviour host = HostFacts.Host;
        string json = Path.Combine(Path.GetTempPath(), $"paravirt-compare-{Guid.NewGuid():N}.json");
        try
        {
            (int code, string stdout, string stderr) = Invoke("--quick", "--workload", "cpuid", "--json", json);
            Assert.That(code, Is.Zero, stderr);
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
            JsonElement[] results = doc.RootElement.GetProperty("results").EnumerateArray().ToArray();
            JsonElement full = results.Single(r => r.GetProperty("mode").GetString() == "full");
            JsonElement para = results.Single(r => r.GetProperty("mode").GetString() == "para");
            Assert.That(full.GetProperty("verified").GetBoolean() && para.GetProperty("verified").GetBoolean(), Is.True);
            Assert.That(full.GetProperty("hostLimitation").ValueKind, Is.EqualTo(host.CpuidTraps ? JsonValueKind.Null : JsonValueKind.String));
            Assert.That(para.GetProperty("hostLimitation").ValueKind, Is.EqualTo(host.CpuidTableAnswers ? JsonValueKind.Null : JsonValueKind.String));
            Assert.That(full.GetProperty("exits").GetInt64(), Is.EqualTo(host.CpuidTraps ? full.GetProperty("operations").GetInt64() : 0));
            if (!host.CpuidTraps)
                Assert.That(stdout, Does.Contain("not here (1)").And.Contain("cpuid does not trap at CPL3"));
        }
        finally
        {
            File.Delete(json);
        }
    }

    [Test]
    public void The_json_file_has_exactly_the_documented_shape()
    {
        if (!WorkloadRunner.IsAvailable(out string reason))
            Assert.Ignore($"KVM is not usable here: {reason}");
        string json = Path.Combine(Path.GetTempPath(), $"paravirt-compare-{Guid.NewGuid():N}.json");
        try
        {
            (int code, string stdout, string stderr) = Invoke("--quick", "--workload", "blk-read", "--workload", "console", "--json", json);
            Assert.That(code, Is.Zero, stderr);
            Assert.That(stdout, Does.Contain("vs full (ATA PIO)").And.Contain("vs best full").And.Contain("blk-read").And.Contain("console").And.Contain("ide-dma"));

            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
            JsonElement root = doc.RootElement;
            Assert.That(root.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "engine", "machine", "results" }));
            Assert.That(root.GetProperty("engine").GetString(), Is.EqualTo("kvm"));
            Assert.That(root.GetProperty("machine").GetString(), Does.Contain("cores"));
            JsonElement[] results = root.GetProperty("results").EnumerateArray().ToArray();
            // Every built disk of each mode for the block workload, the default for the console.
            string?[] fullDisks = BuiltDevices(VirtualizationMode.Full), paraDisks = BuiltDevices(VirtualizationMode.Para);
            var expected = fullDisks.Select(d => ("blk-read", "full", d)).Concat(paraDisks.Select(d => ("blk-read", "para", d)))
                .Concat(new[] { ("console", "full", (string?)null), ("console", "para", (string?)null) });
            Assert.That(results.Select(r => (r.GetProperty("workload").GetString(), r.GetProperty("mode").GetString(), r.GetProperty("device").GetString())),
                Is.EqualTo(expected));
            foreach (JsonElement r in results)
            {
                Assert.That(r.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[]
                {
                    "workload", "mode", "device", "completion", "operations", "operationUnit", "exits", "exitsByReason", "seconds", "nsPerOp", "bytesPerSecond", "verified", "hostLimitation",
                }));
                Assert.That(r.GetProperty("verified").GetBoolean(), Is.True);
                Assert.That(r.GetProperty("completion").ValueKind == JsonValueKind.Null ? null : r.GetProperty("completion").GetString(),
                    Is.EqualTo(r.GetProperty("device").ValueKind == JsonValueKind.Null ? null : "poll"), "polling by default; null without a disk");
                long exits = r.GetProperty("exits").GetInt64();
                long sum = r.GetProperty("exitsByReason").EnumerateObject().Sum(p => p.Value.GetInt64());
                Assert.That(sum, Is.EqualTo(exits));
                Assert.That(r.GetProperty("operations").GetInt64(), Is.GreaterThan(0));
                Assert.That(r.GetProperty("nsPerOp").GetDouble(), Is.GreaterThan(0));
            }
            JsonElement fullRead = results[0];
            Assert.That(fullRead.GetProperty("exits").GetInt64(), Is.EqualTo(HostFacts.AtaReadExitsPerRequest * fullRead.GetProperty("operations").GetInt64()));
            Assert.That(fullRead.GetProperty("operationUnit").GetString(), Is.EqualTo("4 KiB request"));
        }
        finally
        {
            File.Delete(json);
        }
    }

    [Test]
    public void Completion_both_adds_an_interrupt_row_for_each_device_that_completes_after_its_exit()
    {
        if (!WorkloadRunner.IsAvailable(out string reason))
            Assert.Ignore($"KVM is not usable here: {reason}");
        string json = Path.Combine(Path.GetTempPath(), $"paravirt-compare-{Guid.NewGuid():N}.json");
        try
        {
            (int code, string stdout, string stderr) = Invoke("--operations", "64", "--workload", "blk-randread-qd32", "--completion", "both", "--json", json);
            Assert.That(code, Is.Zero, stderr);
            Assert.That(stdout, Does.Contain("ide-dma+irq").And.Contain("nvme+irq").And.Contain("virtio-blk-async+event"));

            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
            var rows = doc.RootElement.GetProperty("results").EnumerateArray()
                .Select(r => (r.GetProperty("mode").GetString(), r.GetProperty("device").GetString(), r.GetProperty("completion").GetString())).ToArray();
            Assert.That(rows, Is.EqualTo(new (string?, string?, string?)[]
            {
                ("full", "ata-pio", "poll"), ("full", "ide-dma", "poll"), ("full", "ide-dma", "interrupt"), ("full", "nvme", "poll"), ("full", "nvme", "interrupt"),
                ("para", "virtio-blk", "poll"), ("para", "virtio-blk-async", "poll"), ("para", "virtio-blk-async", "interrupt"),
            }));
            // Full-mode interrupt rows sleep in sti; hlt: traps the polled rows do not have.
            JsonElement nvmeIrq = doc.RootElement.GetProperty("results")[4];
            Assert.That(nvmeIrq.GetProperty("exitsByReason").GetProperty("Trap").GetInt64(), Is.EqualTo(HostFacts.InterruptWaitTraps * 2), "64 requests at QD32: two batches, one sleep each");
        }
        finally
        {
            File.Delete(json);
        }
    }

    [Test]
    public void Completion_interrupt_still_runs_the_workloads_without_a_disk()
    {
        if (!WorkloadRunner.IsAvailable(out string reason))
            Assert.Ignore($"KVM is not usable here: {reason}");
        (int code, string stdout, string stderr) = Invoke("--operations", "32", "--workload", "irq-mask", "--workload", "blk-read", "--completion", "interrupt");
        Assert.That(code, Is.Zero, stderr);
        Assert.That(stdout, Does.Contain("irq-mask").And.Contain("nvme+irq").And.Not.Contain("│ nvme  "));
    }

    [Test]
    public void Completion_is_refused_with_a_user_image_pair()
    {
        (int code, _, string stderr) = Invoke("--full-image", "/nonexistent/a.pvimg", "--para-image", "/nonexistent/b.pvimg", "--workload", "x", "--completion", "interrupt");
        Assert.That(code, Is.EqualTo(ExitCodes.Usage), stderr);
        Assert.That(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(1));
        Assert.That(stderr, Does.Contain("--completion needs the workloads guest"));
    }

    /// <summary>The disks of <paramref name="mode"/> that MachineBuilder can attach today, by wire name.</summary>
    private static string?[] BuiltDevices(VirtualizationMode mode)
    {
        string path = Path.Combine(Path.GetTempPath(), $"paravirt-devices-{Guid.NewGuid():N}.img");
        try
        {
            using var disk = ParaVirt.Core.Storage.DiskImage.Create(path, 8);
            var built = new List<string?>();
            foreach (ParaVirt.Vmm.DiskInterface d in DiskDevices.Of(mode))
            {
                try
                {
                    using ParaVirt.Vmm.Machine m = ParaVirt.Vmm.MachineBuilder.Create().WithMemory(4UL << 20).WithMode(mode).WithDisk(disk, d).Build();
                    built.Add(DiskDevices.WireName(d));
                }
                catch (NotSupportedException)
                {
                }
            }
            return built.ToArray();
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void Catalog_has_the_io_workloads_and_the_cpu_workloads()
    {
        Assert.That(WorkloadCatalog.All.Take(5).Select(w => w.Name), Is.EqualTo(new[] { "console", "blk-write", "blk-read", "blk-randread", "blk-randread-qd32" }));
        foreach (WorkloadDefinition cpu in CpuWorkloadCatalog.Definitions)
            Assert.That(WorkloadCatalog.Find(cpu.Name), Is.Not.Null);
        Assert.That(WorkloadCatalog.Find("hostile-desc-loop"), Is.Null, "test-only workloads are not in the compare catalog");
    }
}
