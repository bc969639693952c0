using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.Json;
using ParaVirt.Core.Machine;
using ParaVirt.Workloads;

namespace ParaVirt.Cli.Commands;

/// <summary>
/// The JSON file of <c>paravirt compare --json FILE</c>:
/// <c>{"engine", "machine", "results": [{"workload", "mode", "device", "completion", "operations", "operationUnit", "exits",
/// "exitsByReason": {...}, "seconds", "nsPerOp", "bytesPerSecond", "verified", "hostLimitation"}]}</c>;
/// <c>device</c> is the disk device's name ("ata-pio", "ide-dma", "nvme", "virtio-blk",
/// "virtio-blk-async") or null for a workload without a disk; <c>completion</c> is how the guest
/// waited for the disk ("poll", or "interrupt": asleep until the device's IRQ or event), null
/// without a disk; <c>hostLimitation</c> is null, or why
/// this host cannot virtualize what the row measures (probed).
/// </summary>
internal static class CompareReport
{
    public static void Write(string path, string engine, string machine, IReadOnlyList<WorkloadResult> results)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("engine", engine);
        json.WriteString("machine", machine);
        json.WriteStartArray("results");
        foreach (WorkloadResult r in results)
        {
            json.WriteStartObject();
            json.WriteString("workload", r.Workload);
            json.WriteString("mode", ModeName(r.Mode));
            if (r.Device is null)
                json.WriteNull("device");
            else
                json.WriteString("device", r.Device);
            if (r.Completion is { } completion)
                json.WriteString("completion", CompareDevices.CompletionName(completion));
            else
                json.WriteNull("completion");
            json.WriteNumber("operations", r.Operations);
            json.WriteString("operationUnit", r.OperationUnit);
            json.WriteNumber("exits", r.Exits);
            json.WriteStartObject("exitsByReason");
            foreach (KeyValuePair<string, long> pair in r.ExitsByReason)
                json.WriteNumber(pair.Key, pair.Value);
            json.WriteEndObject();
            json.WriteNumber("seconds", r.Seconds);
            json.WriteNumber("nsPerOp", r.NsPerOp);
            json.WriteNumber("bytesPerSecond", r.BytesPerSecond);
            json.WriteBoolean("verified", r.Verified);
            if (r.HostLimitation is null)
                json.WriteNull("hostLimitation");
            else
                json.WriteString("hostLimitation", r.HostLimitation);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    public static string ModeName(VirtualizationMode mode) => mode == VirtualizationMode.Full ? "full" : "para";

    public static string Duration(double ns) => ns switch
    {
        >= 1e9 => (ns / 1e9).ToString("F2", CultureInfo.InvariantCulture) + " s",
        >= 1e6 => (ns / 1e6).ToString("F2", CultureInfo.InvariantCulture) + " ms",
        >= 1e3 => (ns / 1e3).ToString("F2", CultureInfo.InvariantCulture) + " µs",
        _ => ns.ToString("F1", CultureInfo.InvariantCulture) + " ns",
    };

    public static string Throughput(double bytesPerSecond) => bytesPerSecond switch
    {
        <= 0 => "-",
        >= 1 << 30 => (bytesPerSecond / (1 << 30)).ToString("F2", CultureInfo.InvariantCulture) + " GiB/s",
        >= 1 << 20 => (bytesPerSecond / (1 << 20)).ToString("F2", CultureInfo.InvariantCulture) + " MiB/s",
        >= 1 << 10 => (bytesPerSecond / (1 << 10)).ToString("F1", CultureInfo.InvariantCulture) + " KiB/s",
        _ => bytesPerSecond.ToString("F0", CultureInfo.InvariantCulture) + " B/s",
    };

    /// <summary>Exits per operation: whole numbers as they are, small exact fractions as "1/32", others with 3 significant digits.</summary>
    public static string PerOp(long count, long operations)
    {
        if (operations == 0 || count == 0)
            return "0";
        double v = (double)count / operations;
        if (v >= 1)
            return v.ToString(v >= 100 ? "F0" : "0.##", CultureInfo.InvariantCulture);
        double reciprocal = (double)operations / count;
        if (Math.Abs(reciprocal - Math.Round(reciprocal)) < 1e-9)
            return "1/" + Math.Round(reciprocal).ToString("F0", CultureInfo.InvariantCulture);
        return v.ToString("G3", CultureInfo.InvariantCulture);
    }
}
