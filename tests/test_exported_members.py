import qa


def test_public_surface_is_exactly_all():
    assert qa.__all__ == sorted(qa.__all__)
    assert qa.__all__ == [
        "Answer", "Chunk", "Citation", "CitedFigure", "Document", "Figure", "Hit", "QAError", "Service", "Settings",
        "__version__", "answer", "build", "chunk_document", "extract_figures", "get_settings", "load_corpus",
        "normalize", "search",
    ]
    for name in qa.__all__:
        assert getattr(qa, name) is not None


def test_import_qa_does_not_load_heavy_dependencies():
    import subprocess
    import sys

    code = "import sys, qa; print(any(m in sys.modules for m in ('torch', 'faiss', 'jieba', 'gradio')))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
