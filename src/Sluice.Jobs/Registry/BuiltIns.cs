using Sluice.Contracts;
using Sluice.Execution.Simulation;
using Sluice.IO;
using Sluice.Jobs.Ops;

namespace Sluice.Jobs;

/// <summary>The ops and formats every Sluice process knows.</summary>
internal sealed class BuiltIns : IJobModule
{
    public void Register(JobRegistry registry)
    {
        registry.Add(new BertTokenizeOp());
        registry.Add(new OnnxOp());
        registry.Add(new ImagePreprocessOp());
        registry.Add(new ProcessorOp<SimulateProcessor, SimulateOptions>("simulate", new ResourceRequest(Gpus: 1),
            "a model stage on a simulated GPU: holds its device fixed_ms + per_row_ms x rows per batch"));
        registry.Add(new GenerateOp());
        // Not an op of specs, but a processor tests and demos run on workers to show where actors ran.
        registry.Processors.Add<AnnotateProcessor>();

        registry.Add(new ReadFormat<NoOptions>("parquet", (path, _) => Sources.Parquet(path), "Parquet files: one read task per row group"));
        registry.Add(new ReadFormat<CsvOptions>("csv", Sources.Csv, "CSV with a header row"));
        registry.Add(new ReadFormat<JsonLinesOptions>("jsonl", Sources.JsonLines, "JSON Lines: one object per line"));
        registry.Add(new ReadFormat<OpenAiBatchOptions>("openai_batch", (path, o) => Sources.OpenAiBatch(path, o),
            "OpenAI Batch API request files: rows custom_id, url, model, body, text (the embedding input or prompt)"));
        registry.Add(new ReadFormat<TextOptions>("text", Sources.Text, "text: one row per line, in a string column `text`"));
        registry.Add(new ReadFormat<ImagesOptions>("images", Sources.Images,
            "image files (JPEG, PNG, WebP; photos/**/*.jpg reaches into subdirectories): rows path, size, width, height, image (encoded bytes)"));
        registry.Add(new ReadFormat<RangeOptions>("range", (_, o) => Dataset.Range(o.Count).Plan is Sluice.Plan.ReadOperator r ? r.Source : throw new InvalidOperationException(),
            "the integers 0..count-1 in a column `id` (no files; path is not used)") { TakesPath = false });

        registry.Add(WriteFormat.Of<ParquetSinkOptions>("parquet", Sinks.Parquet, "Parquet part files of about target_file_size (zstd; tensor columns round-trip)"));
        registry.Add(WriteFormat.Of<OpenAiBatchSinkOptions>("openai_batch", Sinks.OpenAiBatch, "OpenAI Batch API response files: one line per row, custom_id kept"));
        registry.Add(WriteFormat.Of<JsonLinesSinkOptions>("jsonl", Sinks.JsonLines, "JSON Lines part files of about target_file_size; tensors as arrays"));
    }
}

/// <summary>The <c>range</c> read format's options.</summary>
/// <param name="Count">How many integers.</param>
public sealed record RangeOptions(long Count) : IValidatedOptions
{
    public IEnumerable<OptionError> Problems()
    {
        if (Count < 1) yield return new(nameof(Count), Count.ToString(System.Globalization.CultureInfo.InvariantCulture), "give 1 or more");
    }
}
