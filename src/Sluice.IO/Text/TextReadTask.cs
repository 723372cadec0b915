using System.Runtime.CompilerServices;
using Apache.Arrow;
using Sluice.Contracts;
using Sluice.IO.Files;

namespace Sluice.IO.Text;

/// <summary>One text file, or one <see cref="LineRange"/> of a large one (the lines that start in it).</summary>
internal sealed class TextReadTask(string file, LineRange? range, TextOptions options, InvalidUtf8Tally invalid) : ReadTask
{
    public override string Id => LineRange.Id(file, range);

    public override async IAsyncEnumerable<RecordBatch> ReadAsync(int blockRows, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockRows, 1);
        var check = new Utf8Check(file, options.InvalidUtf8, invalid, range);
        try
        {
            var builder = new StringArray.Builder();
            var count = 0;
            long lineNumber = 0;
            await foreach (var line in LineRange.ReadAsync(file, range, check.Encoding, cancellationToken).ConfigureAwait(false))
            {
                lineNumber++;
                check.Check(line, lineNumber);
                if (options.SkipEmpty && line.Length == 0) continue;
                builder.Append(line);
                if (++count == blockRows)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    yield return new RecordBatch(TextDatasource.TextSchema, [builder.Build()], count);
                    builder = new StringArray.Builder();
                    count = 0;
                }
            }
            cancellationToken.ThrowIfCancellationRequested();
            if (count > 0) yield return new RecordBatch(TextDatasource.TextSchema, [builder.Build()], count);
        }
        finally
        {
            check.Complete();
        }
    }
}
