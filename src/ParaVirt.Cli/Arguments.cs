using System;
using System.Collections.Generic;
using System.Globalization;

namespace ParaVirt.Cli;

/// <summary>
/// A strict parser for one command's arguments: known flags with or without a value, positional
/// arguments, and a one-line <see cref="CliException"/> for anything else.
/// </summary>
internal sealed class Arguments
{
    private readonly string _command;
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _switches = new(StringComparer.Ordinal);

    private Arguments(string command) => _command = command;

    public List<string> Positional { get; } = [];

    /// <summary>Parses <paramref name="args"/>; <paramref name="valued"/> take a value, <paramref name="switches"/> don't.</summary>
    public static Arguments Parse(string command, IReadOnlyList<string> args, IReadOnlyCollection<string> valued, IReadOnlyCollection<string> switches)
    {
        var result = new Arguments(command);
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith('-') || arg == "-")
            {
                result.Positional.Add(arg);
                continue;
            }
            string name = arg, value = "";
            bool inline = false;
            int eq = arg.IndexOf('=');
            if (eq > 0)
            {
                name = arg[..eq];
                value = arg[(eq + 1)..];
                inline = true;
            }
            if (Contains(switches, name))
            {
                if (inline)
                    throw Usage(command, $"option '{name}' takes no value");
                result._switches.Add(name);
            }
            else if (Contains(valued, name))
            {
                if (!inline)
                {
                    if (i + 1 >= args.Count)
                        throw Usage(command, $"option '{name}' needs a value");
                    value = args[++i];
                }
                if (!result._values.TryGetValue(name, out List<string>? list))
                    result._values[name] = list = [];
                list.Add(value);
            }
            else
            {
                throw Usage(command, $"unknown option '{name}'");
            }
        }
        return result;
    }

    private static bool Contains(IReadOnlyCollection<string> names, string name)
    {
        foreach (string n in names)
            if (n == name)
                return true;
        return false;
    }

    public static CliException Usage(string command, string message) =>
        new($"{message} (see 'paravirt {command} --help')", ExitCodes.Usage);

    public bool Has(string name) => _switches.Contains(name);

    public IReadOnlyList<string> All(string name) => _values.TryGetValue(name, out List<string>? list) ? list : [];

    public string? Value(string name) => _values.TryGetValue(name, out List<string>? list) ? list[^1] : null;

    /// <summary>A number option in [<paramref name="min"/>, <paramref name="max"/>] (NaN is not), or <paramref name="fallback"/>.</summary>
    public double Number(string name, double fallback, double min, double max)
    {
        string? text = Value(name);
        if (text is null)
            return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !(value >= min && value <= max))
            throw Usage(_command, $"option '{name}' must be a number from {min} to {max}, not '{text}'");
        return value;
    }
}
