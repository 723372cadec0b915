using System.Runtime.CompilerServices;
using Apache.Arrow;
using Sluice.Contracts;
using Sluice.IO.Files;

namespace Sluice.IO.Csv;

/// <summary>One CSV file. Column types are declared or inferred from the file's first block, then enforced.</summary>
internal sealed class CsvReadTask(string file, CsvDatasource source, InvalidUtf8Tally invalid) : ReadTask
{
    public override string Id => file;

    public override async IAsyncEnumerable<RecordBatch> ReadAsync(int blockRows, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockRows, 1);
        var check = new Utf8Check(file, source.Options.InvalidUtf8, invalid);
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
        await Task.Yield();
        using var reader = new CsvFileReader(file, source.Options.Delimiter, check);
        CheckDeclaredColumns(reader.Names);
        CsvColumnType[]? types = null;
        Schema? schema = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var rows = reader.ReadRows(blockRows);
            if (rows.Count == 0) yield break;
            if (types is null)
            {
                types = new CsvColumnType[reader.Names.Count];
                for (var c = 0; c < types.Length; c++)
                    types[c] = source.DeclaredTypes.TryGetValue(reader.Names[c], out var t) ? t : CsvColumns.Infer(rows, c);
                schema = CsvColumns.Schema(reader.Names, types);
            }
            yield return CsvColumns.ToBatch(file, schema!, types, rows);
        }
    }

    private void CheckDeclaredColumns(IReadOnlyList<string> names)
    {
        foreach (var declared in source.DeclaredTypes.Keys)
        {
            if (!names.Contains(declared))
                throw new BadInputException($"{file}: CsvOptions.ColumnTypes names column '{declared}', which the header ({string.Join(", ", names)}) lacks; fix the name or the header");
        }
    }
}
