using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Contracts;
using Sluice.IO.Files;

namespace Sluice.IO.Text;

/// <summary>Text files, one row per line in a string column <c>text</c>; one read task per file, or per line-aligned byte range of a large one.</summary>
internal sealed class TextDatasource : Datasource
{
    internal static readonly Schema TextSchema = new([new Field("text", StringType.Default, nullable: false)], null);

    private readonly InvalidUtf8Tally _invalid = new();
    private readonly string _path;
    private readonly TextOptions _options;
    private IReadOnlyList<string>? _files;

    public TextDatasource(string path, TextOptions options)
    {
        if (options.SplitBytes < 1) throw new SluiceException($"TextOptions.SplitBytes is {options.SplitBytes}; give 1 or more bytes per read task");
        _path = path;
        _options = options;
    }

    public override string Name => $"text({_path})";

    public override DatasourceInputs? DescribeInputs() => FileLister.Describe(_path, _files ?? FileLister.Expand(_path, "text")) with
    {
        Options = _options.SkipEmpty ? "skip_empty true" : "skip_empty false",
    };

    public override IReadOnlyList<SourceWarning> Warnings => _invalid.Warnings;

    public override SourceEstimate? Estimate() => LineSplits.Estimate(FileLister.Expand(_path, "text"), _options.SplitBytes);

    public override ValueTask<IReadOnlyList<ReadTask>> PlanAsync(CancellationToken cancellationToken)
    {
        var files = FileLister.Expand(_path, "text");
        _files = files;
        _invalid.Reset();
        var tasks = new List<ReadTask>();
        foreach (var file in files)
        {
            if (LineSplits.Of(file, new FileInfo(file).Length, _options.SplitBytes) is { } ranges)
                tasks.AddRange(ranges.Select(r => new TextReadTask(file, r, _options, _invalid)));
            else
                tasks.Add(new TextReadTask(file, null, _options, _invalid));
        }
        return ValueTask.FromResult<IReadOnlyList<ReadTask>>(tasks);
    }

    public override ValueTask<Schema?> InferSchemaAsync(CancellationToken cancellationToken) => ValueTask.FromResult<Schema?>(TextSchema);
}
