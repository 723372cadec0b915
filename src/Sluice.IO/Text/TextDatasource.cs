using System.Runtime.CompilerServices;
using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Contracts;
using Sluice.IO.Files;

namespace Sluice.IO.Text;

/// <summary>Text files, one row per line in a string column <c>text</c>; one read task per file.</summary>
internal sealed class TextDatasource(string path, TextOptions options) : Datasource
{
    private static readonly Schema TextSchema = new([new Field("text", StringType.Default, nullable: false)], null);

    private readonly InvalidUtf8Tally _invalid = new();
    private IReadOnlyList<string>? _files;

    public override string Name => $"text({path})";

    public override DatasourceInputs? DescribeInputs() => FileLister.Describe(path, _files ?? FileLister.Expand(path, "text")) with
    {
        Options = options.SkipEmpty ? "skip_empty true" : "skip_empty false",
    };

    public override IReadOnlyList<SourceWarning> Warnings => _invalid.Warnings;

    public override ValueTask<IReadOnlyList<ReadTask>> PlanAsync(CancellationToken cancellationToken)
    {
        var files = FileLister.Expand(path, "text");
        _files = files;
        _invalid.Reset();
        var tasks = files.Select(f => (ReadTask)new FileTask(f, options, _invalid)).ToList();
        return ValueTask.FromResult<IReadOnlyList<ReadTask>>(tasks);
    }

    public override ValueTask<Schema?> InferSchemaAsync(CancellationToken cancellationToken) => ValueTask.FromResult<Schema?>(TextSchema);

    private sealed class FileTask(string file, TextOptions options, InvalidUtf8Tally invalid) : ReadTask
    {
        public override string Id => file;

        public override async IAsyncEnumerable<RecordBatch> ReadAsync(int blockRows, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(blockRows, 1);
            var check = new Utf8Check(file, options.InvalidUtf8, invalid);
            try
            {
                using var reader = new StreamReader(file, check.Encoding, detectEncodingFromByteOrderMarks: true);
                var builder = new StringArray.Builder();
                var count = 0;
                long lineNumber = 0;
                while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
                {
                    lineNumber++;
                    check.Check(line, lineNumber);
                    if (options.SkipEmpty && line.Length == 0) continue;
                    builder.Append(line);
                    if (++count == blockRows)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        yield return new RecordBatch(TextSchema, [builder.Build()], count);
                        builder = new StringArray.Builder();
                        count = 0;
                    }
                }
                cancellationToken.ThrowIfCancellationRequested();
                if (count > 0) yield return new RecordBatch(TextSchema, [builder.Build()], count);
            }
            finally
            {
                check.Complete();
            }
        }
    }
}
