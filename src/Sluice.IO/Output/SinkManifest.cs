using System.Text.Json;

namespace Sluice.IO.Output;

/// <summary>
/// The append-only record of what an output directory has committed: one JSON object per line,
/// <c>{"kind":"block",...}</c> after a part file is renamed into place and <c>{"kind":"task",...}</c>
/// after all of a read task's blocks are. Not thread-safe: <see cref="FileDatasink"/> serializes appends.
/// </summary>
internal sealed class SinkManifest(string path)
{
    public const string FileName = "_manifest.jsonl";

    public HashSet<string> Blocks { get; } = new(StringComparer.Ordinal);

    public HashSet<string> Tasks { get; } = new(StringComparer.Ordinal);

    /// <summary>The part file of the first committed non-empty block, if any (the schema reference on resume).</summary>
    public string? FirstPart { get; private set; }

    /// <summary>
    /// Loads the records. A kill can leave the last line torn (no newline, or not valid JSON): that
    /// record never committed, so it is dropped and the file cut back to the last whole line, lest the
    /// next append be glued onto it. A bad line anywhere else is corruption and is reported.
    /// </summary>
    public void Load()
    {
        Blocks.Clear();
        Tasks.Clear();
        FirstPart = null;
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
                    throw new SluiceException($"{path} line {lineNumber} is corrupt; delete the output directory or write with mode overwrite");
                Truncate(lineStart);
                return;
            }
            lineStart = end + 1;
        }
    }

    public void AppendBlock(string key, string? part, int rows)
    {
        Append(JsonSerializer.SerializeToUtf8Bytes(new BlockRecord("block", key, part, rows), ManifestJson.Default.BlockRecord));
        Blocks.Add(key);
        if (part is not null) FirstPart ??= part;
    }

    public void AppendTask(string taskId, int blocks)
    {
        Append(JsonSerializer.SerializeToUtf8Bytes(new TaskRecord("task", taskId, blocks), ManifestJson.Default.TaskRecord));
        Tasks.Add(taskId);
    }

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
                    Blocks.Add(root.GetProperty("key").GetString()!);
                    if (root.TryGetProperty("part", out var part) && part.ValueKind == JsonValueKind.String) FirstPart ??= part.GetString();
                    return true;
                case "task":
                    Tasks.Add(root.GetProperty("task").GetString()!);
                    return true;
                default:
                    return false;
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
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

internal sealed record BlockRecord(string Kind, string Key, string? Part, int Rows);

internal sealed record TaskRecord(string Kind, string Task, int Blocks);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(BlockRecord))]
[System.Text.Json.Serialization.JsonSerializable(typeof(TaskRecord))]
internal sealed partial class ManifestJson : System.Text.Json.Serialization.JsonSerializerContext;
