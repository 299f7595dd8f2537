# Sphinx configuration of the course book (helpers.book copies it into the book's source folder).
# The notebooks are rendered as committed (quick-profile outputs), never executed; nothing on a page
# loads from the network: MathJax is a local copy in _static/, the theme (Alabaster) uses system fonts.
project = "Deep into CNNs"
author = "the Deep into CNNs mentors"
copyright = "the Deep into CNNs mentors"

extensions = ["myst_nb"]                     # MyST markdown and notebooks (myst-parser comes with it)
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
root_doc = "index"

# notebooks: as committed, no kernel
nb_execution_mode = "off"
nb_ipywidgets_js = {}                        # never the widget manager from a CDN (the notebooks hold no widgets)
nb_merge_streams = True                      # one block per cell for print() output, as Jupyter shows it
myst_enable_extensions = ["dollarmath", "amsmath"]   # $...$, $$...$$ and \begin{align}, as in Jupyter

# maths: MathJax 3 from _static/ (helpers.vendor), never Sphinx's default CDN URL
mathjax_path = "mathjax/tex-svg-full.js"

html_theme = "alabaster"
html_static_path = ["_static"]
html_title = "Deep into CNNs"
html_show_sourcelink = False                 # the notebook sources would show what the pages leave out
html_copy_source = False
html_theme_options = {
    "description": "a week-by-week course, from NumPy networks to CNNs, autoencoders and GANs",
    "page_width": "1100px",
    "sidebar_width": "240px",
    "fixed_sidebar": True,
    "show_relbars": True,
    "github_button": False,
    "show_powered_by": False,
}
html_sidebars = {"**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]}

if tags.has("solutions"):  # noqa: F821 - Sphinx provides tags; `python -m helpers.book --solutions`
    html_title = "Deep into CNNs: mentors' edition (solutions)"
    html_theme_options["description"] = "mentors' edition: the exercise solutions are shown; not for mentees"
