using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Sluice.Contracts;
using Sluice.Plan;

namespace Sluice.Execution.Planning;

/// <summary>
/// Computes an output's fingerprint from the logical plan, the source's inputs and the sink: the
/// fields that decide which rows an output holds and how they are split into blocks (block keys
/// are <c>task#seq</c>, so a different <c>read.block_rows</c> makes committed keys mean other rows).
/// Field names follow the job spec's YAML so a refusal names what the user wrote.
/// Read parallelism, pools and resources are left out: they change speed, never rows.
/// </summary>
internal static class OutputFingerprints
{
    /// <param name="readTaskIds">The read tasks' ids in plan order: block keys are made of them, so a
    /// source that splits its input otherwise (another task count, other row groups) makes another output.</param>
    /// <param name="blockRows">Rows per block as planned (given, or chosen from the job's shape): block keys mean rows only with it.</param>
    public static OutputFingerprint Of(LogicalOperator plan, DatasourceInputs? inputs, IEnumerable<string> readTaskIds, int blockRows, Datasink sink)
    {
        var fields = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var ids = readTaskIds.ToList();
        // A digest, not the list: the inputs are listed by name already; this catches how they are split.
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', ids)));
        fields["read.tasks"] = $"{Invariant(ids.Count)} read tasks (ids digest {Convert.ToHexStringLower(digest, 0, 8)})";
        var stage = 0;
        foreach (var op in plan.Chain())
        {
            switch (op)
            {
                case ReadOperator read:
                    fields["read.source"] = read.Source.Name;
                    fields["read.block_rows"] = Invariant(blockRows);
                    if (inputs?.Options is { } options) fields["read.options"] = options;
                    foreach (var file in inputs?.Files ?? [])
                        fields[$"input '{file.Path}'"] = $"{Invariant(file.Length)} bytes modified {file.LastWriteUtc.ToString("O", CultureInfo.InvariantCulture)}";
                    break;
                case MapBatchesOperator map:
                    var where = $"stages[{Invariant(stage++)}]";
                    fields[$"{where}.name"] = map.Name;
                    fields[$"{where}.op"] = map.Transform switch
                    {
                        BatchTransform.Processor p => p.Descriptor?.ToString() ?? p.TypeName,
                        // A lambda cannot be compared across runs; its stage name stands for it.
                        _ => "function",
                    };
                    if (map.Transform is BatchTransform.Processor { Descriptor.OptionsJson: { } json }) fields[$"{where}.options"] = json;
                    fields[$"{where}.batch_size"] = map.Options.BatchSize is { } b ? Invariant(b) : "whole block";
                    break;
            }
        }
        fields["write.format"] = sink.Format;
        return new OutputFingerprint(fields);
    }

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
