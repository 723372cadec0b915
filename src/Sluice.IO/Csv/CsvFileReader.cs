using nietras.SeparatedValues;
using Sluice.IO.Files;

namespace Sluice.IO.Csv;

/// <summary>One raw CSV row: its 1-based line number and its fields (null for empty).</summary>
internal readonly record struct CsvRow(int Line, string?[] Fields);

/// <summary>Reads a CSV file's header and raw rows, checking every row's field count against the header.</summary>
internal sealed class CsvFileReader : IDisposable
{
    private readonly string _file;
    private readonly char _delimiter;
    private readonly SepReader _reader;
    private readonly Utf8Check? _check;

    /// <param name="check">Decodes and checks the bytes; null = plain UTF-8 with replacement, unchecked (schema peeks).</param>
    public CsvFileReader(string file, char delimiter, Utf8Check? check = null)
    {
        _file = file;
        _delimiter = delimiter;
        _check = check;
        // The field count is checked here, not by Sep, so the error names the file, line and columns.
        var options = Sep.New(delimiter).Reader(o => o with { DisableColCountCheck = true, Unescape = true });
        _reader = options.From(new StreamReader(InputCompression.OpenRead(file), check?.Encoding ?? System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true));
        if (_reader.Header.IsEmpty)
            throw new BadInputException($"{file} is empty; expected a header row naming the columns");
        Names = _reader.Header.ColNames.ToArray();
    }

    public IReadOnlyList<string> Names { get; }

    /// <summary>Reads up to <paramref name="max"/> rows; blank lines are skipped.</summary>
    public List<CsvRow> ReadRows(int max)
    {
        var rows = new List<CsvRow>(Math.Min(max, 4096));
        while (rows.Count < max && _reader.MoveNext())
        {
            var row = _reader.Current;
            if (row.ColCount == 1 && row.Span.IsEmpty) continue;
            if (row.ColCount != Names.Count)
            {
                throw new BadInputException(
                    $"{_file} line {row.LineNumberFrom}: expected {Names.Count} fields ({string.Join(", ", Names)}) but found {row.ColCount}; " +
                    $"check the delimiter '{_delimiter}' and the quoting of that line");
            }
            var fields = new string?[row.ColCount];
            for (var c = 0; c < fields.Length; c++)
            {
                var span = row[c].Span;
                fields[c] = span.IsEmpty ? null : span.ToString();
                if (_check is not null && fields[c] is { } text) _check.Check(text, row.LineNumberFrom);
            }
            rows.Add(new CsvRow(row.LineNumberFrom, fields));
        }
        return rows;
    }

    public void Dispose() => _reader.Dispose();
}
