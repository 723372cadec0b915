using Sluice.Contracts;

namespace Sluice.IO.Output;

/// <summary>
/// Opening an output. Every refusal comes before the output is touched: the path is checked, the
/// lock taken, the recorded fingerprint compared; only then are parts deleted (overwrite) or
/// verified (resume).
/// </summary>
internal abstract partial class FileDatasink
{
    // A refusal lists this many differences, then counts the rest: enough to see the cause.
    private const int DifferencesShown = 5;

    public override ValueTask<SinkState> OpenAsync(WriteMode mode, CancellationToken cancellationToken) =>
        OpenAsync(mode, fingerprint: null, inputs: null, cancellationToken);

    public override ValueTask<SinkState> OpenAsync(WriteMode mode, OutputFingerprint? fingerprint, DatasourceInputs? inputs, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (mode is not (WriteMode.ErrorIfExists or WriteMode.Overwrite or WriteMode.Resume))
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "expected ErrorIfExists, Overwrite or Resume");
        if (inputs is not null) RefuseOutputInsideInput(inputs);
        lock (_lock)
        {
            if (_outputLock is not null) throw new InvalidOperationException($"{Name} is already open");
            _outputLock = _store.Open();
            lock (_appendLock)
            {
                _open = null;
                _accepted.Clear();
                _broken = null;
            }
            try
            {
                return ValueTask.FromResult(OpenLocked(mode, fingerprint is null ? null : WithWriteOptions(fingerprint)));
            }
            catch
            {
                ReleaseLock();
                throw;
            }
        }
    }

    private SinkState OpenLocked(WriteMode mode, OutputFingerprint? fingerprint)
    {
        _store.PullManifest(ManifestPath);
        switch (mode)
        {
            case WriteMode.ErrorIfExists:
                var parts = _store.PartNames().Count;
                if (parts > 0 || File.Exists(ManifestPath))
                {
                    throw new SluiceException(
                        $"output '{OutputDirectory}' already holds output ({parts} part files{(File.Exists(ManifestPath) ? ", a manifest" : "")}); " +
                        "pass --resume to continue it or --overwrite to start over (write.mode: resume / overwrite in the job spec)");
                }
                DeleteTmp();
                Manifest.Load();
                break;
            case WriteMode.Overwrite:
                // _SUCCESS first: no reader takes the output for complete while its parts go.
                _store.Delete(SuccessFile);
                foreach (var part in _store.PartNames()) _store.Delete(part);
                foreach (var errors in _store.ErrorNames()) _store.Delete($"{DeadLetterFile.Directory}/{errors}");
                _store.DeleteManifest(ManifestPath);
                DeleteTmp();
                Manifest.Load();
                break;
            default:
                Manifest.Load();
                if (fingerprint is not null && Manifest.Fingerprint is { } recorded) RefuseDifferentJob(WrittenBefore(fingerprint, recorded), recorded);
                // Temporary files are leftovers of a killed run: never committed, never referenced.
                DeleteTmp();
                var damaged = VerifyParts();
                var stray = UncommittedFiles();
                // A complete output whose files change is not complete again until this run completes it: _SUCCESS goes
                // first, so no reader takes it for complete while parts go. An intact one keeps it.
                if (damaged > 0 || stray.Count > 0) _store.Delete(SuccessFile);
                foreach (var name in stray) _store.Delete(name);
                break;
        }
        // A manifest without a fingerprint (written before fingerprints, or by a caller that gave
        // none) adopts this run's, so the next resume is checked.
        if (fingerprint is not null && Manifest.Fingerprint is null)
        {
            Manifest.AppendFingerprint(fingerprint);
            _store.PushManifest(ManifestPath, now: true);
        }
        OnOpened(Manifest.FirstPart is { } first ? _store.LocalCopy(first) : null);
        return new SinkState(
            new HashSet<string>(Manifest.Tasks, StringComparer.Ordinal),
            new HashSet<string>(Manifest.Blocks, StringComparer.Ordinal));
    }

    /// <summary>The job's fingerprint with how this sink sizes and encodes files: a resume that would write them otherwise is refused.</summary>
    private OutputFingerprint WithWriteOptions(OutputFingerprint fingerprint)
    {
        var fields = new SortedDictionary<string, string>(fingerprint.Fields.ToDictionary(), StringComparer.Ordinal);
        foreach (var (name, value) in options.FingerprintFields()) fields[name] = value;
        return new OutputFingerprint(fields);
    }

    /// <summary>
    /// An output recorded before file sizing existed (no <c>write.target_file_size</c>) holds one block per part,
    /// which any sizing can continue: its fingerprint is compared without the sizing fields.
    /// </summary>
    private OutputFingerprint WrittenBefore(OutputFingerprint fingerprint, OutputFingerprint recorded)
    {
        if (recorded.Fields.ContainsKey("write.target_file_size")) return fingerprint;
        var own = options.FingerprintFields().Select(f => f.Key).ToHashSet(StringComparer.Ordinal);
        return new OutputFingerprint(fingerprint.Fields.Where(f => !own.Contains(f.Key)).ToDictionary(StringComparer.Ordinal));
    }

    /// <summary>
    /// Drops from the committed sets every block whose part file is missing, or differs in size or
    /// checksum from what the manifest recorded (deleted or truncated behind the job's back): the job
    /// re-reads its task and writes it again. A local output reads every committed part once, the price of
    /// knowing that a resumed output is whole; a remote one compares what its server says of each.
    /// </summary>
    /// <returns>How many part records were dropped.</returns>
    private int VerifyParts()
    {
        var dropped = 0;
        foreach (var record in Manifest.Parts.ToList())
        {
            if (_store.Holds(record.Part!, record.Bytes, record.Sha256)) continue;
            Manifest.Forget(record);
            dropped++;
        }
        return dropped;
    }

    /// <summary>
    /// The files the manifest does not hold as committed: parts of a kill between publishing and recording, a part found
    /// damaged above, a part named by an older naming scheme, and dead-letter files no committed line names. None is
    /// committed, so they are deleted and the resumed job writes what they should hold: the output keeps only committed
    /// rows, whatever the files are called.
    /// </summary>
    private List<string> UncommittedFiles()
    {
        var committed = Manifest.Parts.Select(p => p.Part!).ToHashSet(StringComparer.Ordinal);
        var errors = Manifest.ErrorFiles.ToHashSet(StringComparer.Ordinal);
        return [
            .. _store.PartNames().Where(p => !committed.Contains(p)),
            .. _store.ErrorNames().Where(e => !errors.Contains(e)).Select(e => $"{DeadLetterFile.Directory}/{e}"),
        ];
    }

    private void RefuseDifferentJob(OutputFingerprint fingerprint, OutputFingerprint recorded)
    {
        var differences = fingerprint.DifferencesFrom(recorded);
        if (differences.Count == 0) return;
        var shown = string.Join("; ", differences.Take(DifferencesShown));
        var more = differences.Count > DifferencesShown ? $"; and {differences.Count - DifferencesShown} more" : "";
        throw new SluiceException(
            $"cannot resume output '{OutputDirectory}': it was written by a different job or from other inputs ({shown}{more}); " +
            "resuming would mix two jobs' rows — resume with the same inputs and spec, or pass --overwrite to start over");
    }

    private void RefuseOutputInsideInput(DatasourceInputs inputs)
    {
        var listed = inputs.ListedDirectories.FirstOrDefault(_store.Contains);
        var inside = inputs.Files.FirstOrDefault(f => _store.Contains(f.Path));
        if (listed is null && inside is null) return;
        throw new SluiceException(
            $"output '{OutputDirectory}' is inside the job's input ({(listed is not null ? "the input lists that directory" : $"input file '{inside!.Path}' lies in it")}); " +
            "every run would read its own parts back as input — write to a directory outside the input");
    }
}
