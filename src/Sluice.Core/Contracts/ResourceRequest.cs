namespace Sluice.Contracts;

/// <summary>What one task or one actor holds while it runs. Fractional gpus let actors share a device.</summary>
public sealed record ResourceRequest(double Cpus = 0, double Gpus = 0, [property: System.Text.Json.Serialization.JsonPropertyName("memory")][ByteSize] long MemoryBytes = 0)
{
    /// <summary>
    /// Light CPU tasks (read, tokenize, write) are not budgeted: they take well under a core
    /// (tokenizing is ~2,000x faster than the model, DESIGN.md §5) and budgeting them a whole core
    /// would leave model actors a core short on small machines.
    /// </summary>
    public static ResourceRequest None { get; } = new();

    /// <summary>A model actor's default: one core.</summary>
    public static ResourceRequest OneCpu { get; } = new(Cpus: 1);

    public bool IsEmpty => Cpus == 0 && Gpus == 0 && MemoryBytes == 0;

    public override string ToString()
    {
        var parts = new List<string>();
        if (Cpus > 0) parts.Add($"cpus={Cpus:0.##}");
        if (Gpus > 0) parts.Add($"gpus={Gpus:0.##}");
        if (MemoryBytes > 0) parts.Add($"memory={MemoryBytes / (1024 * 1024)}MiB");
        return parts.Count == 0 ? "none" : string.Join(' ', parts);
    }
}
