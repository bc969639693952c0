namespace ParaVirt.Core.Engine;

/// <summary>
/// One line an engine reports about itself on this host (<see cref="IHypervisor.DescribeHost"/>):
/// <c>paravirt info</c> prints them as they come, so the command knows nothing engine-specific.
/// </summary>
/// <param name="Name">What the fact is ("KVM API version", "capability SyncRegs").</param>
/// <param name="Value">Its value here ("12", "yes (1), required").</param>
/// <example><code>
/// foreach (EngineFact fact in Engines.Create("kvm").DescribeHost())
///     Console.WriteLine($"{fact.Name,-24} {fact.Value}");
/// </code></example>
public readonly record struct EngineFact(string Name, string Value);
