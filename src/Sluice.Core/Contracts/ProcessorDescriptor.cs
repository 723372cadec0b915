using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Sluice.Contracts;

/// <summary>
/// A processor named so that any node can build it: its type and, when its constructor takes an
/// options record, that record as JSON. A node builds it only through its <see cref="ProcessorRegistry"/>,
/// which refuses any type not registered there; a processor made by a lambda has no descriptor and runs
/// only in the process that made it (local mode).
/// </summary>
public sealed record ProcessorDescriptor(string TypeName, string? OptionsTypeName = null, string? OptionsJson = null)
{
    public static ProcessorDescriptor Of<TProcessor>() where TProcessor : IBatchProcessor, new() =>
        new(typeof(TProcessor).AssemblyQualifiedName!);

    public static ProcessorDescriptor Of<TProcessor, TOptions>(TOptions options) where TProcessor : IBatchProcessor =>
        new(typeof(TProcessor).AssemblyQualifiedName!, typeof(TOptions).AssemblyQualifiedName, JsonSerializer.Serialize(options))
        {
            JobFiles = JobFilesOf(options),
        };

    /// <summary>
    /// The files the processor opens, as the options name them: the JSON name of each <see cref="JobFileAttribute"/> option
    /// (the name in <see cref="OptionsJson"/>, <c>[JsonPropertyName]</c> honored) → its path as given (relative paths are
    /// the driver's). Empty when the options name none, or when a marked option is null or empty.
    /// </summary>
    public IReadOnlyDictionary<string, string> JobFiles { get; init; } = new Dictionary<string, string>();

    private static Dictionary<string, string> JobFilesOf<TOptions>(TOptions options)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        if (options is null) return files;
        // The serializer's own contract: the names it writes into OptionsJson, so a worker can find the option there again.
        var info = JsonSerializerOptions.Default.GetTypeInfo(typeof(TOptions));
        if (info.Kind != JsonTypeInfoKind.Object) return files;
        foreach (var property in info.Properties)
        {
            if (property.AttributeProvider?.IsDefined(typeof(JobFileAttribute), inherit: true) != true || property.Get is not { } get) continue;
            if (get(options) is string { Length: > 0 } path) files[property.Name] = path;
        }
        return files;
    }

    /// <summary>Value equality, <see cref="JobFiles"/> compared by content (a dictionary compares by reference).</summary>
    public bool Equals(ProcessorDescriptor? other) =>
        other is not null && TypeName == other.TypeName && OptionsTypeName == other.OptionsTypeName && OptionsJson == other.OptionsJson
        && JobFiles.Count == other.JobFiles.Count
        && JobFiles.All(f => other.JobFiles.TryGetValue(f.Key, out var path) && path == f.Value);

    /// <summary>The job files follow from the options, so the hash leaves them out.</summary>
    public override int GetHashCode() => HashCode.Combine(TypeName, OptionsTypeName, OptionsJson);

    public override string ToString() => TypeName.Split(',')[0];
}
