using System.Runtime.CompilerServices;
using System.Text.Json;
using Apache.Arrow;
using Sluice.Contracts;
using Sluice.IO.Files;

namespace Sluice.IO.JsonLines;

/// <summary>
/// One JSON Lines file, or one <see cref="LineRange"/> of a large one. The schema is inferred from the file's first block; later blocks must fit it
/// (an int64 column accepts no fractions, a fixed-size array column no other length).
/// </summary>
internal sealed class JsonLinesReadTask(string file, LineRange? range, InvalidUtf8 invalidUtf8, InvalidUtf8Tally invalid) : ReadTask
{
    // Errors name the file, or the part of it (line numbers then count from the part's first line).
    private readonly string _where = LineRange.Where(file, range);

    public override string Id => LineRange.Id(file, range);

    public override async IAsyncEnumerable<RecordBatch> ReadAsync(int blockRows, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockRows, 1);
        var check = new Utf8Check(file, invalidUtf8, invalid, range);
        try
        {
            await foreach (var batch in ReadCheckedAsync(check, blockRows, cancellationToken).ConfigureAwait(false)) yield return batch;
        }
        finally
        {
            check.Complete();
        }
    }

    private async IAsyncEnumerable<RecordBatch> ReadCheckedAsync(Utf8Check check, int blockRows, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var lines = LineRange.ReadAsync(file, range, check.Encoding, cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using var _ = lines.ConfigureAwait(false);
        var rows = new List<JsonRow>(Math.Min(blockRows, 4096));
        Schema? schema = null;
        var lineNumber = 0;
        while (true)
        {
            var text = await lines.MoveNextAsync().ConfigureAwait(false) ? lines.Current : null;
            if (text is not null)
            {
                lineNumber++;
                check.Check(text, lineNumber);
                if (string.IsNullOrWhiteSpace(text)) continue;
                rows.Add(new JsonRow(lineNumber, Parse(text, lineNumber)));
                if (rows.Count < blockRows) continue;
            }
            if (rows.Count == 0) yield break;
            cancellationToken.ThrowIfCancellationRequested();
            schema ??= JsonSchemaInference.Infer(_where, rows);
            yield return JsonSchemaInference.ToBatch(_where, schema, rows);
            rows = new List<JsonRow>(rows.Count);
            if (text is null) yield break;
        }
    }

    private Dictionary<string, object?> Parse(string text, int line)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new BadInputException($"{_where} line {line}: expected a JSON object but found {doc.RootElement.ValueKind}; each line must hold one object");
            var row = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject()) row[property.Name] = Value(property.Value);
            return row;
        }
        catch (JsonException e)
        {
            throw new BadInputException($"{_where} line {line}: malformed JSON ({e.Message}); fix the line or remove it", e);
        }
    }

    /// <summary>Scalars as string/long/double/bool; arrays of numbers as long[] or double[]; anything else as its JSON text.</summary>
    private static object? Value(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.String => e.GetString(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Number => e.TryGetInt64(out var l) ? (object)l : e.GetDouble(),
        JsonValueKind.Array => (object?)NumberArray(e) ?? e.GetRawText(),
        _ => e.GetRawText(),
    };

    private static System.Array? NumberArray(JsonElement e)
    {
        var n = e.GetArrayLength();
        var longs = new long[n];
        var allLong = true;
        var i = 0;
        foreach (var item in e.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number) return null;
            if (allLong && item.TryGetInt64(out var l)) longs[i] = l;
            else allLong = false;
            i++;
        }
        if (allLong && n > 0) return longs;
        var doubles = new double[n];
        i = 0;
        foreach (var item in e.EnumerateArray()) doubles[i++] = item.GetDouble();
        return doubles;
    }
}

/// <summary>One parsed line: its 1-based line number and its values.</summary>
internal sealed record JsonRow(int Line, Dictionary<string, object?> Values);
