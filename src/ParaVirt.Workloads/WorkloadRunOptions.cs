using System;

namespace ParaVirt.Workloads;

/// <summary>How <see cref="WorkloadRunner"/> runs one workload.</summary>
/// <example><code>
/// var options = new WorkloadRunOptions { Quick = true, DiskPath = "/tmp/disk.img", KeepDisk = true };
/// </code></example>
public sealed class WorkloadRunOptions
{
    /// <summary>Use the workload's quick operation count.</summary>
    public bool Quick { get; init; }

    /// <summary>An explicit operation count (overrides <see cref="Quick"/>).</summary>
    public long? Operations { get; init; }

    /// <summary>
    /// The disk file to use. Null: a temporary file, created (and pre-filled for
    /// <see cref="WorkloadDisk.Pattern"/>) by the runner and deleted afterwards. A path that exists is
    /// used as it is, without pre-filling (so a <c>blk-read</c> can read what a <c>blk-write</c>
    /// left); a path that does not exist is created like a temporary file and kept.
    /// </summary>
    public string? DiskPath { get; init; }

    /// <summary>
    /// The disk's device, which must belong to the run's mode; null: the mode's default (ATA PIO in
    /// full mode, virtio-blk in para mode). The guest is told with <c>disk=NAME</c> on its command line.
    /// </summary>
    public ParaVirt.Vmm.DiskInterface? DiskInterface { get; init; }

    /// <summary>
    /// How the guest waits for its disk (<see cref="DiskCompletion"/>); <see cref="DiskCompletion.Interrupt"/>
    /// needs a device that <see cref="DiskDevices.CompletesAsynchronously"/>. Ignored by workloads
    /// without a disk.
    /// </summary>
    public DiskCompletion Completion { get; init; }

    /// <summary>Keep a temporary disk file instead of deleting it (its path is in the result's failure text only when it failed).</summary>
    public bool KeepDisk { get; init; }

    /// <summary>
    /// An image file to run instead of the mode's workloads image: a user's own build that speaks
    /// the measurement protocol (docs/workloads.md, "Your own image pair"). Null: the workloads
    /// image of the mode, found in <see cref="ImageDirectory"/> or by <see cref="WorkloadImages"/>.
    /// </summary>
    public string? ImagePath { get; init; }

    /// <summary>Where the images are (see <see cref="WorkloadImages"/>); null searches.</summary>
    public string? ImageDirectory { get; init; }

    /// <summary>The watchdog: the VM is stopped after this long.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Guest RAM in bytes (a multiple of 2 MiB).</summary>
    public ulong MemorySize { get; init; } = 32UL << 20;
}
