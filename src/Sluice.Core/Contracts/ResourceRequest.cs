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

    /// <summary>
    /// Bytes each of the actor's GPUs holds while it runs: the model's weights plus the activations of one batch.
    /// Actors that share a device (fractional <see cref="Gpus"/>) are placed on it only while their summed device
    /// memory fits the device's (<c>NodeResources.GpuMemoryBytes</c>). 0 (the default): measured by the planner for a
    /// processor that says its need (<see cref="IDeviceMemoryNeed"/>), else nothing is counted.
    /// </summary>
    [System.Text.Json.Serialization.JsonPropertyName("device_memory")]
    [ByteSize]
    public long DeviceMemoryBytes { get; init; }

    public bool IsEmpty => Cpus == 0 && Gpus == 0 && MemoryBytes == 0 && DeviceMemoryBytes == 0;

    public override string ToString()
    {
        var parts = new List<string>();
        if (Cpus > 0) parts.Add($"cpus={Cpus:0.##}");
        if (Gpus > 0) parts.Add($"gpus={Gpus:0.##}");
        if (MemoryBytes > 0) parts.Add($"memory={MemoryBytes / (1024 * 1024)}MiB");
        if (DeviceMemoryBytes > 0) parts.Add($"device_memory={DeviceMemoryBytes / (1024.0 * 1024):0.#}MiB");
        return parts.Count == 0 ? "none" : string.Join(' ', parts);
    }
}
