using System;

namespace ParaVirt.Fuzz.Targets;

/// <summary>A target's oracle does not hold for an input: a finding.</summary>
public sealed class OracleViolationException : Exception
{
    /// <summary>Creates the finding with what was expected and what happened.</summary>
    public OracleViolationException(string message) : base(message)
    {
    }

    /// <summary>Creates the finding with the product exception that caused it.</summary>
    public OracleViolationException(string message, Exception inner) : base(message, inner)
    {
    }

    /// <summary>Throws unless <paramref name="condition"/> holds.</summary>
    public static void Check(bool condition, string message)
    {
        if (!condition)
            throw new OracleViolationException(message);
    }
}
