using System.Text.Json;
using Sluice.Contracts;

namespace Sluice.IO.Output;

/// <summary>
/// The append-only record of what an output directory has committed: one JSON object per line,
/// <c>{"kind":"fingerprint",...}</c> when the output is started (what determines its rows),
/// <c>{"kind":"block",...}</c> after a part file is renamed into place (with its size and SHA-256) and
/// <c>{"kind":"task",...}</c> after all of a read task's blocks are. Not thread-safe:
/// <see cref="FileDatasink"/> serializes appends.
/// </summary>
internal sealed class SinkManifest(string path)
{
    public const string FileName = "_manifest.jsonl";

    // Part records in file order: the first one still committed is the schema reference on resume.
    private readonly List<BlockRecord> _parts = [];

    public HashSet<string> Blocks { get; } = new(StringComparer.Ordinal);

    public HashSet<string> Tasks { get; } = new(StringComparer.Ordinal);

    /// <summary>What the output was started with; null for a manifest written without one.</summary>
    public OutputFingerprint? Fingerprint { get; private set; }

    /// <summary>The committed blocks that have a part file, in commit order.</summary>
    public IEnumerable<BlockRecord> Parts => _parts.Where(p => Blocks.Contains(p.Key));

    /// <summary>The part file of the first committed non-empty block, if any (the schema reference on resume).</summary>
    public string? FirstPart => Parts.FirstOrDefault()?.Part;

    /// <summary>
    /// Loads the records. A kill can leave the last line torn (no newline, or not valid JSON): that
    /// record never committed, so it is dropped and the file cut back to the last whole line, lest the
    /// next append be glued onto it. A bad line anywhere else is corruption and is reported.
    /// </summary>
    public void Load()
    {
        Blocks.Clear();
        Tasks.Clear();
        _parts.Clear();
        Fingerprint = null;
        if (!File.Exists(path)) return;
        var bytes = File.ReadAllBytes(path);
        var lineStart = 0;
        var lineNumber = 0;
        while (lineStart < bytes.Length)
        {
            lineNumber++;
            var end = Array.IndexOf(bytes, (byte)'\n', lineStart);
            var whole = end >= 0;
            var line = bytes.AsSpan(lineStart, (whole ? end : bytes.Length) - lineStart);
            var isLast = !whole || end == bytes.Length - 1;
            if (!whole || !TryApply(line))
            {
                if (!isLast)
                    throw new SluiceException($"{path} line {lineNumber} is corrupt; pass --overwrite to start the output over (or delete the directory)");
                Truncate(lineStart);
                return;
            }
            lineStart = end + 1;
        }
    }

    public void AppendFingerprint(OutputFingerprint fingerprint)
    {
        var record = new FingerprintRecord("fingerprint", new Dictionary<string, string>(fingerprint.Fields, StringComparer.Ordinal));
        Append(JsonSerializer.SerializeToUtf8Bytes(record, ManifestJson.Default.FingerprintRecord));
        Fingerprint = fingerprint;
    }

    public void AppendBlock(string key, string? part, int rows, long? bytes = null, string? sha256 = null)
    {
        var record = new BlockRecord("block", key, part, rows, bytes, sha256);
        Append(JsonSerializer.SerializeToUtf8Bytes(record, ManifestJson.Default.BlockRecord));
        Blocks.Add(key);
        if (part is not null) _parts.Add(record);
    }

    public void AppendTask(string taskId, int blocks)
    {
        Append(JsonSerializer.SerializeToUtf8Bytes(new TaskRecord("task", taskId, blocks), ManifestJson.Default.TaskRecord));
        Tasks.Add(taskId);
    }

    /// <summary>
    /// Treats a committed block as not committed (its part is missing or corrupt): the block and its
    /// read task leave the committed sets, so the job re-reads the task and writes the block again.
    /// Nothing is appended; a later commit of the same key supersedes the old record.
    /// </summary>
    public void Forget(string key)
    {
        Blocks.Remove(key);
        Tasks.Remove(TaskOf(key));
    }

    /// <summary>The read task of a block key (<c>task#seq</c>, see <see cref="Datasink.BlockKey"/>).</summary>
    public static string TaskOf(string key) => key[..key.LastIndexOf('#')];

    private void Append(byte[] json)
    {
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        stream.Write(json);
        stream.WriteByte((byte)'\n');
        // fsync: a record must be durable before the caller treats its block or task as committed.
        stream.Flush(flushToDisk: true);
    }

    private bool TryApply(ReadOnlySpan<byte> line)
    {
        if (line.Trim((byte)'\r').IsEmpty) return true;
        try
        {
            using var doc = JsonDocument.Parse(line.ToArray());
            var root = doc.RootElement;
            switch (root.GetProperty("kind").GetString())
            {
                case "block":
                    var key = root.GetProperty("key").GetString()!;
                    Blocks.Add(key);
                    if (root.TryGetProperty("part", out var part) && part.ValueKind == JsonValueKind.String)
                    {
                        _parts.Add(new BlockRecord("block", key, part.GetString(), root.GetProperty("rows").GetInt32(),
                            root.TryGetProperty("bytes", out var b) && b.ValueKind == JsonValueKind.Number ? b.GetInt64() : null,
                            root.TryGetProperty("sha256", out var h) && h.ValueKind == JsonValueKind.String ? h.GetString() : null));
                    }
                    return true;
                case "task":
                    Tasks.Add(root.GetProperty("task").GetString()!);
                    return true;
                case "fingerprint":
                    Fingerprint = new OutputFingerprint(root.GetProperty("fields").EnumerateObject()
                        .ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal));
                    return true;
                default:
                    return false;
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return false;
        }
    }

    private void Truncate(long length)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.Read);
        stream.SetLength(length);
        stream.Flush(flushToDisk: true);
    }
}

/// <param name="Bytes">The part file's size; null in manifests written before sizes were recorded.</param>
/// <param name="Sha256">The part file's SHA-256 (hex); null in manifests written before checksums were recorded.</param>
internal sealed record BlockRecord(string Kind, string Key, string? Part, int Rows, long? Bytes = null, string? Sha256 = null);

internal sealed record TaskRecord(string Kind, string Task, int Blocks);

internal sealed record FingerprintRecord(string Kind, Dictionary<string, string> Fields);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(BlockRecord))]
[System.Text.Json.Serialization.JsonSerializable(typeof(TaskRecord))]
[System.Text.Json.Serialization.JsonSerializable(typeof(FingerprintRecord))]
internal sealed partial class ManifestJson : System.Text.Json.Serialization.JsonSerializerContext;
