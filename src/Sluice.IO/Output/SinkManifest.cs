using System.Text.Json;
using Sluice.Contracts;

namespace Sluice.IO.Output;

/// <summary>
/// The append-only record of what an output directory has committed: one JSON object per line,
/// <c>{"kind":"fingerprint",...}</c> when the output is started (what determines its rows),
/// <c>{"kind":"file",...}</c> after a part file is renamed into place (its size, SHA-256 and every block
/// key it holds, on one line: a torn line commits none of the file's blocks, never some) and
/// <c>{"kind":"task",...}</c> after all of a read task's blocks are. Older outputs hold
/// <c>{"kind":"block",...}</c> lines (one block per part file), still read. A later record naming a key
/// supersedes an earlier one (a damaged part rewritten). Not thread-safe: <see cref="FileDatasink"/> serializes appends.
/// </summary>
internal sealed class SinkManifest(string path)
{
    public const string FileName = "_manifest.jsonl";

    // Part records in file order: the first one still committed is the schema reference on resume.
    private readonly List<PartRecord> _parts = [];

    // Which record holds each committed key: the last one to name it.
    private readonly Dictionary<string, PartRecord> _owner = new(StringComparer.Ordinal);

    public HashSet<string> Tasks { get; } = new(StringComparer.Ordinal);

    /// <summary>The committed block keys.</summary>
    public IReadOnlyCollection<string> Blocks => _owner.Keys;

    /// <summary>What the output was started with; null for a manifest written without one.</summary>
    public OutputFingerprint? Fingerprint { get; private set; }

    /// <summary>The records that still hold a committed block and have a part file, in commit order.</summary>
    public IEnumerable<PartRecord> Parts => _parts.Where(p => p.Part is not null && p.Keys.Any(k => ReferenceEquals(_owner.GetValueOrDefault(k), p)));

    /// <summary>The part file of the first committed non-empty record, if any (the schema reference on resume).</summary>
    public string? FirstPart => Parts.FirstOrDefault()?.Part;

    public bool IsCommitted(string key) => _owner.ContainsKey(key);

    /// <summary>
    /// Loads the records. A kill can leave the last line torn (no newline, or not valid JSON): that
    /// record never committed, so it is dropped and the file cut back to the last whole line, lest the
    /// next append be glued onto it. A bad line anywhere else is corruption and is reported.
    /// </summary>
    public void Load()
    {
        _owner.Clear();
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

    /// <summary>
    /// Records a committed part file (null: blocks without rows, no file), its dead letters' file in <c>_errors/</c> (null: none)
    /// and every block it holds, with one fsync: the blocks' rows and dead letters commit together.
    /// </summary>
    public void AppendFile(string? part, long? bytes, string? sha256, IReadOnlyList<FileBlock> blocks, string? errors = null)
    {
        var record = new FileRecord("file", part, blocks.Sum(b => (long)b.Rows), bytes, sha256, [.. blocks]) { Errors = errors };
        Append(JsonSerializer.SerializeToUtf8Bytes(record, ManifestJson.Default.FileRecord));
        Add(new PartRecord(part, bytes, sha256, [.. blocks.Select(b => b.Key)]) { Errors = errors });
    }

    /// <summary>The dead-letter files (in <c>_errors/</c>) of the records that still hold a committed block.</summary>
    public IEnumerable<string> ErrorFiles => _parts.Where(p => p.Errors is not null && p.Keys.Any(k => ReferenceEquals(_owner.GetValueOrDefault(k), p))).Select(p => p.Errors!);

    public void AppendTask(string taskId, int blocks)
    {
        Append(JsonSerializer.SerializeToUtf8Bytes(new TaskRecord("task", taskId, blocks), ManifestJson.Default.TaskRecord));
        Tasks.Add(taskId);
    }

    /// <summary>
    /// Treats a committed part as not committed (it is missing or corrupt): its blocks and their read tasks
    /// leave the committed sets, so the job re-reads those tasks and writes the blocks again. Nothing is
    /// appended; a later record naming the same keys supersedes this one.
    /// </summary>
    public void Forget(PartRecord record)
    {
        foreach (var key in record.Keys)
        {
            if (!ReferenceEquals(_owner.GetValueOrDefault(key), record)) continue;
            _owner.Remove(key);
            Tasks.Remove(TaskOf(key));
        }
    }

    /// <summary>The read task of a block key (<c>task#seq</c>, see <see cref="Datasink.BlockKey(Sluice.Blocks.BlockLineage)"/>).</summary>
    public static string TaskOf(string key) => key[..key.LastIndexOf('#')];

    private void Add(PartRecord record)
    {
        foreach (var key in record.Keys) _owner[key] = record;
        _parts.Add(record);
    }

    private void Append(byte[] json)
    {
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        stream.Write(json);
        stream.WriteByte((byte)'\n');
        // fsync: a record must be durable before the caller treats its blocks or task as committed.
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
                case "file":
                    // A name from the file is joined to the output's path or prefix: only a plain file name may come back.
                    if (!PlainName(String(root, "part"), "part-") || !PlainName(String(root, "errors"), "part-")) return false;
                    Add(new PartRecord(String(root, "part"), Long(root, "bytes"), String(root, "sha256"),
                        [.. root.GetProperty("blocks").EnumerateArray().Select(b => b.GetProperty("key").GetString()!)]) { Errors = String(root, "errors") });
                    return true;
                case "block":
                    // One block per part file, as outputs were written before part files held several.
                    if (!PlainName(String(root, "part"), "part-")) return false;
                    Add(new PartRecord(String(root, "part"), Long(root, "bytes"), String(root, "sha256"), [root.GetProperty("key").GetString()!]));
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

    /// <summary>Null, or a file name of this output: starting with <paramref name="prefix"/>, with no folder in it.</summary>
    private static bool PlainName(string? name, string prefix) =>
        name is null || (name.StartsWith(prefix, StringComparison.Ordinal) && name.IndexOfAny(['/', '\\']) < 0 && !name.Contains("..", StringComparison.Ordinal));

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long? Long(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : null;

    private void Truncate(long length)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.Read);
        stream.SetLength(length);
        stream.Flush(flushToDisk: true);
    }
}

/// <summary>A committed part file and the blocks it holds.</summary>
/// <param name="Part">The file's name; null for blocks without rows (no file).</param>
/// <param name="Bytes">The file's size; null in manifests written before sizes were recorded.</param>
/// <param name="Sha256">The file's SHA-256 (hex); null in manifests written before checksums were recorded.</param>
/// <param name="Keys">The block keys the file holds.</param>
internal sealed record PartRecord(string? Part, long? Bytes, string? Sha256, IReadOnlyList<string> Keys)
{
    /// <summary>The file in <c>_errors/</c> holding the dead letters of these blocks; null when they have none.</summary>
    public string? Errors { get; init; }
}

/// <summary>One block of a part file, as its manifest line lists it.</summary>
internal sealed record FileBlock(string Key, int Rows);

internal sealed record FileRecord(string Kind, string? Part, long Rows, long? Bytes, string? Sha256, List<FileBlock> Blocks)
{
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Errors { get; init; }
}

internal sealed record TaskRecord(string Kind, string Task, int Blocks);

internal sealed record FingerprintRecord(string Kind, Dictionary<string, string> Fields);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(FileRecord))]
[System.Text.Json.Serialization.JsonSerializable(typeof(TaskRecord))]
[System.Text.Json.Serialization.JsonSerializable(typeof(FingerprintRecord))]
internal sealed partial class ManifestJson : System.Text.Json.Serialization.JsonSerializerContext;
