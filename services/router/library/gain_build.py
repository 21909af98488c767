# ruff: noqa: E501  (the questions are data: long lines read better whole than wrapped)
"""Builds the gain model's training file and trains it: `python services/router/library/gain_build.py`.

Writes `src/sophia/router/gain.jsonl` and the model trained on it and the tier library, `gain_weights.json`
(both committed; the service loads the weights at start and retrains only with an operator's extra files). The
questions are closed (multiple choice or short answer) with `strong_correct` and `weak_correct`, the replay
format, plus a `group` (the kind and source of the question, so calibration holds out whole kinds).

How the labels were made - read this before trusting a number trained on it. No model was run: nothing here can
call one. Each question belongs to a KIND, and the kind carries our judgement of how a small model and a strong
one fare on it, from what public evaluations of small and large models report:
- recall of a well-known fact, however learned the subject sounds (who proposed the uncertainty principle) or
  however rare its names are as words (Flaubert, Tenochtitlan): both right;
- one-step arithmetic, a unit conversion, a textbook vignette with the classic presentation: both right;
- recall of a less-known fact (specialist vocabulary, minor figures, exact values): strong right, weak wrong;
- a calculation of three or more dependent steps, applying a rule or doctrine to a set of facts, statements to
  combine (I, II and III), "all EXCEPT" over a list, formal logic with quantifiers: strong right, weak wrong;
- trivia so obscure, or a trick so deep, that neither gets it: both wrong;
- short-answer word problems (no options): one or two operations both right, four or more dependent operations
  (rates, percentages of a remainder, fractions, an unknown to solve for) strong right, weak wrong;
- code to trace: a direct reading both right, a language trap or several steps of state strong right only;
- puzzles keeping several constraints at once strong right only, one-step ones both right;
- a popular misconception asked in plain words (the closest planet on average, the colour of a flight recorder):
  strong right, weak wrong - a small model repeats the common belief, so plain words do not mean easy;
- two well-known facts chained (the sea the river through Budapest empties into): strong right, weak wrong;
- a standard definition in a specialist-sounding field (music theory, geology, sailing, optics), and "which is
  NOT" over a well-known category: both right - technical words or a negation do not mean hard.
So the gain model learns which KINDS of question a strong model pays off on. It also trains on the graded
questions of `src/sophia/router/gain_written/` (five writers' judgement, question by question; see its README).

`python services/router/library/gain_build.py --leave-out` is the development measure: each written set left out
of training in turn, then the dev replay, as strong-call shares at 95 % of strong quality. The replay files
(`bench/data/router_replay.jsonl`, the dev replay, written by another session; `router_replay_blind.jsonl`, the
blind one, committed before the word-problem, code and puzzle kinds here were added, with other scenarios) have
their own questions, entities and wording; nothing here was written while looking at them, and this script reads
them only to prove that no question is shared.
"""

from __future__ import annotations

import json
import math
import random
import sys
from collections.abc import Callable, Iterator
from math import comb
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE.parent / "src" / "sophia" / "router" / "gain.jsonl"
WEIGHTS = OUT.with_name("gain_weights.json")
REPLAY = HERE.parents[2] / "bench" / "data" / "router_replay.jsonl"
BLIND_REPLAYS = sorted((HERE.parents[2] / "bench" / "data").glob("router_replay_blind*.jsonl"))
WRITTEN = OUT.with_name("gain_written")
KEEP = 0.95  # the replay's figure: strong calls needed to keep this share of the strong model's quality
PER_KIND = 8  # generated questions per calculation kind
rng = random.Random(2718)  # noqa: S311 - reproducible sampling, not security

# -- recall: "question|right|wrong|wrong|wrong" -----------------------------------------------------------------

WELL_KNOWN = """\
Who painted the Mona Lisa?|Leonardo da Vinci|Michelangelo|Raphael|Titian
Which planet is known as the Red Planet?|Mars|Venus|Jupiter|Mercury
What is the boiling point of water at sea level in Celsius?|100|90|120|80
Who wrote 'Romeo and Juliet'?|William Shakespeare|Christopher Marlowe|John Milton|Ben Jonson
What is the capital of Japan?|Tokyo|Kyoto|Osaka|Nagoya
Which gas do plants absorb for photosynthesis?|Carbon dioxide|Oxygen|Nitrogen|Helium
What is the largest ocean on Earth?|Pacific|Atlantic|Indian|Arctic
How many continents are there?|Seven|Five|Six|Eight
Which scientist proposed the theory of evolution by natural selection?|Charles Darwin|Gregor Mendel|Louis Pasteur|Isaac Newton
What is the hardest natural substance?|Diamond|Quartz|Granite|Iron
Who proposed the uncertainty principle in quantum mechanics?|Werner Heisenberg|Niels Bohr|Erwin Schrodinger|Paul Dirac
Which mathematician is famous for the incompleteness theorems?|Kurt Godel|David Hilbert|Alan Turing|Georg Cantor
What does DNA stand for?|Deoxyribonucleic acid|Dinitrogen acid|Dual nucleic assembly|Deoxyribose amino
Which particle carries a negative electric charge?|Electron|Proton|Neutron|Photon
What is the time complexity of binary search on a sorted array?|O(log n)|O(n)|O(n log n)|O(1)
Who is known as the father of modern economics and wrote 'The Wealth of Nations'?|Adam Smith|David Ricardo|Karl Marx|John Locke
Which treaty ended the First World War with Germany?|Treaty of Versailles|Treaty of Paris|Treaty of Utrecht|Treaty of Ghent
In which city did the Renaissance begin?|Florence|London|Madrid|Vienna
What force keeps the planets in orbit around the Sun?|Gravity|Magnetism|Friction|The strong force
What is the powerhouse of the cell?|Mitochondria|Nucleus|Ribosome|Vacuole
Which blood cells fight infection?|White blood cells|Red blood cells|Platelets|Plasma cells only
Who developed the polio vaccine first licensed in 1955?|Jonas Salk|Albert Sabin|Edward Jenner|Robert Koch
Which philosopher wrote 'The Republic'?|Plato|Aristotle|Socrates|Epicurus
What is the square root of 144?|12|14|11|16
What is the freezing point of water in Fahrenheit?|32|0|100|212
Which country gifted the Statue of Liberty to the United States?|France|Britain|Spain|Italy
Which instrument measures atmospheric pressure?|Barometer|Hygrometer|Anemometer|Thermometer
Which law states that every action has an equal and opposite reaction?|Newton's third law|Newton's first law|Hooke's law|Ohm's law
Which organ filters blood to produce urine?|Kidney|Liver|Spleen|Pancreas
What is the main language of Argentina?|Spanish|Portuguese|Italian|English
Which famous equation relates mass and energy?|E = mc^2|F = ma|PV = nRT|V = IR
In computing, what does RAM stand for?|Random access memory|Read-only memory|Rapid access module|Remote application memory
Which economic term describes a general rise in prices?|Inflation|Deflation|Recession|Depreciation
What is the largest desert in Africa?|Sahara|Kalahari|Namib|Gobi
Who was the British prime minister for most of the Second World War?|Winston Churchill|Neville Chamberlain|Clement Attlee|Anthony Eden
What is the chemical formula of table salt?|NaCl|KCl|NaOH|CaCO3
Which sorting algorithm has an average time of O(n log n) and picks a pivot?|Quicksort|Bubble sort|Insertion sort|Selection sort
Which part of the brain is chiefly responsible for balance and coordination?|Cerebellum|Frontal lobe|Hypothalamus|Medulla only
Which theory of Einstein says the speed of light is the same for all observers?|Special relativity|Quantum electrodynamics|String theory|Thermodynamics
What is the study of earthquakes called?|Seismology|Meteorology|Volcanology|Cartography
Which amendment to the US Constitution protects freedom of speech?|First|Second|Fifth|Tenth
What is the term for a market with a single seller?|Monopoly|Oligopoly|Monopsony|Perfect competition
Who discovered penicillin?|Alexander Fleming|Louis Pasteur|Marie Curie|Joseph Lister
What is the longest river in South America?|Amazon|Parana|Orinoco|Magdalena
What does GDP stand for?|Gross domestic product|General domestic price|Gross debt position|Government development plan
Which programming language is used to style web pages?|CSS|SQL|Python|C
Which ancient civilisation built Machu Picchu?|The Inca|The Maya|The Aztecs|The Olmecs
What does the Pythagorean theorem relate?|The sides of a right triangle|The angles of any polygon|The area of a circle|Prime numbers
In accounting, assets equal liabilities plus what?|Equity|Revenue|Expenses|Dividends
What is the name of the process by which cells divide into two identical cells?|Mitosis|Meiosis|Osmosis|Fermentation
Which legal principle presumes a defendant innocent until proven guilty?|Presumption of innocence|Double jeopardy|Habeas corpus|Stare decisis
What is the name of the boundary around a black hole beyond which nothing escapes?|Event horizon|Photon sphere|Singularity|Accretion disc
What is the most abundant gas in the Sun?|Hydrogen|Helium|Oxygen|Carbon
Which composer wrote the 'Moonlight' Sonata?|Beethoven|Mozart|Bach|Chopin
Which vitamin deficiency causes scurvy?|Vitamin C|Vitamin D|Vitamin B12|Vitamin A
What is the name of the supercontinent that broke up about 200 million years ago?|Pangaea|Gondwana|Laurasia|Rodinia
Which sense organ contains the cochlea?|The ear|The eye|The nose|The tongue
Who wrote 'Nineteen Eighty-Four'?|George Orwell|Aldous Huxley|H. G. Wells|Ray Bradbury
Which data structure works last in, first out?|Stack|Queue|Heap|Linked list
What unit measures electric current?|Ampere|Volt|Watt|Ohm
"""

LESS_KNOWN = """\
Which Byzantine emperor issued the legal code known as the Ecloga?|Leo III|Justinian I|Basil II|Heraclius
Which enzyme joins Okazaki fragments during DNA replication?|DNA ligase|Helicase|Primase|Topoisomerase
Which economist is associated with the theorem that, with zero transaction costs, bargaining reaches an efficient outcome whoever holds the rights?|Ronald Coase|Arthur Pigou|Kenneth Arrow|Gary Becker
In which year was the Peace of Augsburg concluded?|1555|1517|1598|1648
Which cranial nerve innervates the lateral rectus muscle of the eye?|Abducens (VI)|Trochlear (IV)|Oculomotor (III)|Facial (VII)
What is the oxidation state of chromium in potassium dichromate?|+6|+3|+2|+7
Which Supreme Court case established the 'actual malice' standard for defamation of public officials?|New York Times v. Sullivan|Brandenburg v. Ohio|Gideon v. Wainwright|Marbury v. Madison
Which philosopher wrote 'The Phenomenology of Spirit'?|Hegel|Kant|Fichte|Schelling
Which Mughal emperor commissioned the Buland Darwaza at Fatehpur Sikri?|Akbar|Shah Jahan|Babur|Aurangzeb
What is the name of the anomaly in which the 'Hawthorne effect' was first described - the industrial plant's location?|Cicero, Illinois|Detroit, Michigan|Pittsburgh, Pennsylvania|Gary, Indiana
Which protein is defective in cystic fibrosis?|CFTR|Dystrophin|Fibrillin|Huntingtin
Which hormone is secreted by the delta cells of the pancreatic islets?|Somatostatin|Glucagon|Insulin|Pancreatic polypeptide
Which mineral is 7 on the Mohs scale?|Quartz|Topaz|Orthoclase|Corundum
Who formulated the 'lemons' problem of asymmetric information in used-car markets?|George Akerlof|Michael Spence|Joseph Stiglitz|James Mirrlees
Which battle of 1415 saw Henry V defeat a larger French army?|Agincourt|Crecy|Poitiers|Castillon
What is the Chandrasekhar limit approximately, in solar masses?|1.4|2.5|0.8|3.2
Which Roman historian wrote the 'Annals' covering Tiberius to Nero?|Tacitus|Livy|Suetonius|Sallust
In contract law, which case is the classic English authority for the remoteness of damages?|Hadley v Baxendale|Carlill v Carbolic Smoke Ball Co|Donoghue v Stevenson|Pinnel's Case
Which enzyme is the rate-limiting step of cholesterol synthesis?|HMG-CoA reductase|Acetyl-CoA carboxylase|Lipoprotein lipase|Squalene synthase
Which composer wrote the opera 'Wozzeck'?|Alban Berg|Arnold Schoenberg|Anton Webern|Richard Strauss
What is the space group symmetry term for crystals with no centre of inversion that show piezoelectricity?|Non-centrosymmetric|Centrosymmetric|Isotropic|Amorphous
Which sociologist introduced the concept of 'anomie' in 'The Division of Labour in Society'?|Emile Durkheim|Max Weber|Georg Simmel|Talcott Parsons
Which dynasty ruled China when the Grand Canal was first completed as a unified system?|Sui|Tang|Han|Song
What is the name of the layer of the retina containing the rods and cones?|Photoreceptor layer|Ganglion cell layer|Inner plexiform layer|Choroid
Which theorem states that a continuous function on a closed interval attains its maximum and minimum?|Extreme value theorem|Intermediate value theorem|Rolle's theorem|Mean value theorem
Which economist developed the permanent income hypothesis?|Milton Friedman|Franco Modigliani|James Duesenberry|John Hicks
Which bone in the wrist is most commonly fractured?|Scaphoid|Lunate|Hamate|Trapezium
Which 1648 agreement recognised Dutch independence from Spain?|Peace of Munster|Treaty of Nijmegen|Union of Utrecht|Pacification of Ghent
What is the term for the enthalpy change when one mole of gaseous ions dissolves in water?|Enthalpy of hydration|Lattice enthalpy|Enthalpy of atomisation|Bond enthalpy
Which Indian mathematician set out the chakravala method for Pell's equation in the Bijaganita?|Bhaskara II|Aryabhata|Brahmagupta|Madhava
Which arbitration doctrine lets a tribunal rule on its own jurisdiction?|Kompetenz-Kompetenz|Res judicata|Forum non conveniens|Comity
Which artery supplies the sinoatrial node in most people?|Right coronary artery|Left anterior descending artery|Circumflex artery|Left main coronary artery
Which algorithm computes all-pairs shortest paths in O(V^3)?|Floyd-Warshall|Dijkstra|Prim|Kruskal
Which logician proved the completeness theorem for first-order logic in 1929?|Kurt Godel|Alfred Tarski|Thoralf Skolem|Alonzo Church
Which French king revoked the Edict of Nantes?|Louis XIV|Louis XIII|Henry IV|Louis XV
Which amino acid is the precursor of serotonin?|Tryptophan|Tyrosine|Phenylalanine|Histidine
What is the name of the accounting standard for leases under IFRS?|IFRS 16|IAS 17|IFRS 9|IAS 36
What is the name of the effect in which a rotating ball curves because of pressure differences?|Magnus effect|Coriolis effect|Venturi effect|Doppler effect
Which poet wrote 'The Waste Land'?|T. S. Eliot|Ezra Pound|W. B. Yeats|Wallace Stevens
Which scientist first measured the charge of the electron with oil drops?|Robert Millikan|J. J. Thomson|Ernest Rutherford|James Chadwick
Which economist's 'impossibility theorem' concerns aggregating individual preferences?|Kenneth Arrow|Amartya Sen|John Nash|Paul Samuelson
Which kidney segment is the site of action of loop diuretics?|Thick ascending limb of the loop of Henle|Proximal tubule|Collecting duct|Distal convoluted tubule
Which ruler founded the Maurya Empire?|Chandragupta Maurya|Ashoka|Bindusara|Harsha
What is the name of the linguistic law that says word frequency is inversely proportional to its rank?|Zipf's law|Grimm's law|Verner's law|Heaps' law
Which theorem guarantees that a graph drawn in the plane needs at most four colours?|Four colour theorem|Kuratowski's theorem|Euler's formula|Ramsey's theorem
Which court decided the Lotus case on criminal jurisdiction over collisions at sea?|Permanent Court of International Justice|International Court of Justice|European Court of Human Rights|Privy Council
Which organelle is the site of glycosylation of proteins before they are sorted?|Golgi apparatus|Lysosome|Peroxisome|Nucleolus
Which Persian king was defeated by the Greeks at Marathon in 490 BC (his army)?|Darius I|Xerxes I|Cyrus the Great|Cambyses II
Which metal is used in the Haber process catalyst?|Iron|Platinum|Nickel|Vanadium
What is the name of the statistical paradox where a trend reverses when groups are combined?|Simpson's paradox|Berkson's paradox|Lindley's paradox|Stein's paradox
Which tax principle says a tax should be levied according to the benefit a payer receives from public services?|Benefit principle|Ability-to-pay principle|Neutrality principle|Horizontal equity
What is the name of the cycle in which the liver converts lactate back into glucose (with muscle)?|Cori cycle|Krebs cycle|Calvin cycle|Urea cycle
Which Habsburg ruler issued the Pragmatic Sanction of 1713?|Charles VI|Leopold I|Joseph II|Maria Theresa
Which astronomer first described the laws of planetary motion as ellipses?|Johannes Kepler|Tycho Brahe|Galileo Galilei|Copernicus
Which medication is the antidote for heparin overdose?|Protamine sulfate|Vitamin K|Naloxone|Flumazenil
Which data structure gives amortised near-constant union and find with path compression?|Disjoint-set forest|Binary heap|Red-black tree|Trie
Which economist introduced the idea of 'creative destruction'?|Joseph Schumpeter|Friedrich Hayek|Ludwig von Mises|Thorstein Veblen
"""

# Famous, though the names are rare words in running text: word frequency is not fame, so the model must not take
# an unusual name for an obscure fact.
FAMOUS_RARE_NAMES = """\
Who wrote 'Madame Bovary'?|Gustave Flaubert|Emile Zola|Honore de Balzac|Stendhal
Which composer wrote 'The Rite of Spring'?|Igor Stravinsky|Sergei Prokofiev|Maurice Ravel|Claude Debussy
Which philosopher wrote 'Thus Spoke Zarathustra'?|Friedrich Nietzsche|Arthur Schopenhauer|Soren Kierkegaard|Martin Heidegger
What is the capital of Kazakhstan?|Astana|Almaty|Tashkent|Bishkek
Who painted 'The Persistence of Memory' with melting clocks?|Salvador Dali|Rene Magritte|Joan Miro|Max Ernst
Which Russian author wrote 'Anna Karenina'?|Leo Tolstoy|Ivan Turgenev|Nikolai Gogol|Anton Chekhov
Who formulated the laws of inheritance by crossing pea plants?|Gregor Mendel|Thomas Hunt Morgan|Hugo de Vries|August Weismann
Which Mesopotamian king is known for an early written law code?|Hammurabi|Sargon|Nebuchadnezzar|Gilgamesh
Which Czech writer wrote 'The Metamorphosis'?|Franz Kafka|Milan Kundera|Karel Capek|Jaroslav Hasek
Which structure in plant cells carries out photosynthesis?|Chloroplast|Mitochondrion|Vacuole|Centriole
Which Greek mathematician wrote the 'Elements'?|Euclid|Archimedes|Pythagoras|Thales
Who composed the opera 'La Traviata'?|Giuseppe Verdi|Giacomo Puccini|Gioachino Rossini|Vincenzo Bellini
Which Norwegian playwright wrote 'A Doll's House'?|Henrik Ibsen|August Strindberg|Knut Hamsun|Bjornstjerne Bjornson
What is the name of the Aztec capital on which Mexico City was built?|Tenochtitlan|Teotihuacan|Chichen Itza|Tikal
Which enzyme in saliva begins breaking down starch?|Amylase|Pepsin|Lipase|Trypsin
Which Polish-born scientist won Nobel prizes in physics and chemistry?|Marie Sklodowska-Curie|Lise Meitner|Rosalind Franklin|Irene Joliot-Curie
Which ancient wonder stood in the harbour of Rhodes?|The Colossus|The Pharos|The Mausoleum|The Hanging Gardens
What is the name of the protein that carries oxygen in red blood cells?|Haemoglobin|Myoglobin|Albumin|Keratin
Which Italian astronomer was tried by the Inquisition for supporting heliocentrism?|Galileo Galilei|Giordano Bruno|Tycho Brahe|Nicolaus Copernicus
Which river flows through Baghdad?|Tigris|Euphrates|Jordan|Nile
Who wrote 'Don Quixote'?|Miguel de Cervantes|Lope de Vega|Federico Garcia Lorca|Calderon de la Barca
What is the name of the Hindu festival of lights?|Diwali|Holi|Navratri|Pongal
Which Austrian founded psychoanalysis?|Sigmund Freud|Carl Jung|Alfred Adler|Wilhelm Reich
Which French emperor was defeated at Waterloo?|Napoleon Bonaparte|Louis XVIII|Charles X|Napoleon III
Which tectonic boundary type forms the Himalayas?|Convergent (continental collision)|Divergent|Transform|Hotspot
Which Dutch painter cut off part of his own ear?|Vincent van Gogh|Rembrandt|Johannes Vermeer|Piet Mondrian
"""

OBSCURE = """\
What was the exact population of the parish of Llanddewi Brefi recorded in the 1861 census?|721|803|654|912
Which shipwright built the hull of the Swedish warship Kronan of 1672?|Francis Sheldon|Henrik Hybertsson|Robert Thomsen|Jacob de Moor
On what date in 1743 was the village fair of Saint-Pierre-de-Varengeville first chartered?|14 March|2 June|29 September|11 November
How many lines does the third draft of Hopkins's unpublished sermon of 1879 contain?|212|188|240|176
What was the registered tonnage of the schooner Mary Ann Hoskins lost off Cape Sable in 1871?|96|132|78|114
Which minor official signed the 1824 boundary survey of the township of Ebenezer, Ontario?|Josiah Pratt|Elias Mount|Caleb Hurd|Amos Winter
What was the serial number of the first locomotive delivered to the Ferrocarril de Antioquia?|7|3|11|15
How many votes did the runner-up receive in the 1902 municipal election of Tartu?|418|377|502|296
Who was the organist of the parish church of Steyning in 1790?|Thomas Lidbetter|John Ashby|William Goring|Henry Blunt
Which page of the first edition of 'Middlemarch' volume three begins chapter 47?|121|97|143|168
What was the wholesale price of a bushel of oats in Albany on 3 May 1811?|34 cents|41 cents|27 cents|52 cents
What colour was the cover of the 1923 annual report of the Tasmanian Fisheries Board?|Green|Blue|Grey|Red
A cube is painted and cut into 27 smaller cubes; then one small cube is removed at random from each face centre and rotated twice about a body diagonal. How many painted faces now point up if the big cube rests on a random face?|Cannot be determined as posed|9|6|12
What is the 40th digit after the decimal point of the square root of 7?|5|3|8|1
How many pages did the 1957 Lisbon telephone directory have?|1,204|986|1,412|1,058
"""

# -- textbook vignettes with the classic presentation: both right ---------------------------------------------
CLASSIC = """\
A 60-year-old has crushing central chest pain radiating to the left arm, sweating and ST elevation on the ECG. The most likely diagnosis is:|Myocardial infarction|Pneumonia|Panic attack|Gastritis
A child has a fever, a barking cough and stridor at night. The most likely diagnosis is:|Croup|Asthma|Appendicitis|Measles
A person signs a contract while being threatened with a weapon. The contract is most likely:|Voidable for duress|Fully enforceable|Void for mistake|Enforceable but taxable
A company sells goods for cash. Which account increases?|Cash|Accounts payable|Inventory|Long-term debt
The price of a good rises and people buy less of it. This illustrates:|The law of demand|The law of supply|Inflation|Comparative advantage
A function calls itself until it reaches a base case. This is called:|Recursion|Iteration|Polymorphism|Encapsulation
Someone takes a bicycle that belongs to another person, intending to keep it. This is most likely:|Theft|Defamation|Trespass to land|Breach of contract
A patient has excessive thirst, frequent urination and a very high blood glucose. The most likely condition is:|Diabetes mellitus|Hypothyroidism|Anaemia|Gout
A ball is dropped from a height. Ignoring air, its acceleration is:|About 9.8 m/s^2 downward|Zero|Increasing steadily|Upward
A central bank raises interest rates. Borrowing usually:|Falls|Rises|Stays exactly the same|Becomes illegal
"""

# -- applying a rule to facts (the facts change, the rule is not named): strong right, weak wrong --------------
PEOPLE = [
    "Okafor",
    "Lindqvist",
    "Marchetti",
    "Haddad",
    "Nakamura",
    "Fernandes",
    "Kowalczyk",
    "Brennan",
    "Osei",
    "Varga",
    "Delacroix",
    "Iyer",
]
APPLY = [
    (
        "{a} offers to sell {b} a boat for 9,000, saying the offer stays open for a week. Two days later {b} hears from a reliable friend that {a} sold the boat to someone else, then sends an acceptance. Is there a contract between them?",
        "No: the offer was revoked once {b} learned of the sale|Yes: the offer was promised open for a week|Yes: acceptance was sent within the week|No: offers by letter cannot be accepted",
    ),
    (
        "At trial, a witness for {a} repeats what a bystander told her: 'the blue car ran the red light'. The bystander said it calmly an hour later. The statement is offered to prove the car ran the light. It is most likely:",
        "Inadmissible hearsay, no exception applies|Admissible as an excited utterance|Admissible as a present sense impression|Admissible as a statement against interest",
    ),
    (
        "{a} has openly farmed a strip of {b}'s land for 14 years; the jurisdiction's limitation period is 12 years, but {b} was a minor for the first 5 of those years and the statute suspends time for minority of the owner at the start. Has {a} acquired title?",
        "No: time ran only from {b}'s majority|Yes: 14 years exceeds 12|Yes: open use always suffices|No: farming is never adverse",
    ),
    (
        "{a} and {b} agree to rob a shop; during the robbery a guard shoots at {a}, misses, and kills a customer. In a jurisdiction following the agency theory of felony murder, is {b} guilty of murder?",
        "No: the killing was not by a co-felon|Yes: any death during a felony counts|Yes: because {a} was armed|No: robbery is never a predicate felony",
    ),
    (
        "A 24-year-old presents with fatigue, a low haemoglobin, a low MCV, a high RDW and a normal ferritin after iron treatment failed; the haemoglobin electrophoresis shows raised HbA2. The most likely diagnosis is:",
        "Beta-thalassaemia trait|Iron deficiency anaemia|Anaemia of chronic disease|Vitamin B12 deficiency",
    ),
    (
        "A patient taking lithium starts a thiazide diuretic for blood pressure. Two weeks later there is a coarse tremor and confusion. The most likely cause is:",
        "Lithium toxicity from reduced renal clearance|A stroke|Thiazide allergy|Hypoglycaemia",
    ),
    (
        "{a} Ltd sells equipment for 120,000 including one year of servicing; the equipment alone sells for 110,000 and servicing alone for 20,000. Under IFRS 15, how much revenue is recognised at delivery?",
        "About 101,538|110,000|120,000|100,000",
    ),
    (
        "A firm in perfect competition has price 12, average variable cost 10 and average total cost 14 at its best output. In the short run it should:",
        "Keep producing, as price covers variable cost|Shut down at once|Raise its price|Produce more until price equals ATC",
    ),
    (
        "Two countries: {a}land makes 10 cloth or 5 wine per worker, {b}ia 6 cloth or 6 wine. Which should specialise in wine?",
        "{b}ia|{a}land|Neither|Both equally",
    ),
    (
        "A bank account in {a}'s name and {b}'s name is held as joint tenants. {a} dies leaving a will giving everything to a charity. Who gets the account?",
        "{b}, by survivorship|The charity|Split half and half|The state",
    ),
    (
        "A seller in {a}'s state ships goods 'FOB shipping point'; they are destroyed in transit by a storm. Who bears the loss?",
        "The buyer|The seller|The carrier always|Nobody: the contract is void",
    ),
    (
        "A tenant of {a} assigns the remainder of her lease to {b}, who stops paying rent. Can {a} sue the original tenant?",
        "Yes: the original tenant remains liable on her covenant|No: assignment ends her liability|Only if {b} is bankrupt|Only for one month",
    ),
    (
        "A process holds lock A and waits for lock B; another holds B and waits for A; both use blocking acquire with no timeout. Adding a global lock order A before B in both would:",
        "Remove the deadlock|Make the deadlock more likely|Have no effect|Cause a livelock",
    ),
    (
        "A table has a unique index on email. Two transactions at READ COMMITTED each check that an email is absent, then insert it. What happens?",
        "One insert fails on the unique index|Both rows are inserted|Both transactions deadlock forever|The first transaction is rolled back silently",
    ),
    (
        "A taxpayer in a progressive system with brackets 10% to 20,000 and 30% above has income 50,000. What is the effective tax rate?",
        "22%|30%|20%|26%",
    ),
    (
        "A defendant, {a}, honestly but unreasonably believes he is being attacked and kills in response. In a jurisdiction with imperfect self-defence, he is most likely guilty of:",
        "Voluntary manslaughter|Murder|No crime|Involuntary manslaughter only if drunk",
    ),
    (
        "A 3-year-old has a painless abdominal mass that does not cross the midline, with haematuria. The most likely diagnosis is:",
        "Wilms tumour|Neuroblastoma|Hepatoblastoma|Pyloric stenosis",
    ),
    (
        "{a} writes a cheque to {b}, who endorses it to a holder in due course. {a} then claims {b} never delivered the goods. Can the holder in due course enforce the cheque against {a}?",
        "Yes: failure of consideration is a personal defence|No: failure of consideration defeats any holder|Only if the cheque was certified|No: endorsements are void",
    ),
]

# -- statements to combine and "all EXCEPT": strong right, weak wrong ---------------------------------------------
COMBINE = [
    (
        "Consider: I. Every prime greater than 2 is odd. II. The sum of two odd numbers is odd. III. Every even square is divisible by 4. Which are true?",
        "I and III only|I only|I and II only|I, II and III",
    ),
    (
        "Consider: I. A stable sort keeps equal keys in order. II. Heapsort is stable. III. Merge sort can be stable. Which are true?",
        "I and III only|I and II only|II only|I, II and III",
    ),
    (
        "Consider: I. Inflation erodes the real value of fixed debts. II. Unexpected inflation helps lenders. III. Indexation protects against it. Which are true?",
        "I and III only|II only|I and II only|I, II and III",
    ),
    (
        "Consider: I. Mitochondria have their own DNA. II. Red blood cells in mammals contain mitochondria. III. Chloroplasts have their own ribosomes. Which are true?",
        "I and III only|I only|II and III only|I, II and III",
    ),
    (
        "Consider: I. A consistent hash ring moves about 1/n of keys when a node is added. II. Modulo hashing moves about the same. III. Virtual nodes smooth the load. Which are true?",
        "I and III only|I and II only|II only|I, II and III",
    ),
    (
        "Consider: I. A contract for the sale of land must usually be in writing. II. A promise to pay another's debt must usually be in writing. III. All employment contracts must be in writing. Which are true?",
        "I and II only|I only|III only|I, II and III",
    ),
    (
        "Consider: I. Depreciation is a non-cash expense. II. Depreciation reduces taxable profit. III. Depreciation reduces the cash balance directly. Which are true?",
        "I and II only|III only|I and III only|I, II and III",
    ),
    (
        "Consider: I. Every bounded monotone sequence of reals converges. II. Every bounded sequence of reals converges. III. Every convergent sequence is bounded. Which are true?",
        "I and III only|I and II only|II only|I, II and III",
    ),
    (
        "Consider: I. An ideal gas at constant temperature has pressure inversely proportional to volume. II. Doubling the kelvin temperature at constant volume doubles the pressure. III. Doubling Celsius temperature doubles the pressure. Which are true?",
        "I and II only|I only|III only|I, II and III",
    ),
    (
        "Consider: I. Under SERIALIZABLE isolation phantoms cannot occur. II. READ UNCOMMITTED allows dirty reads. III. REPEATABLE READ forbids non-repeatable reads. Which are true?",
        "I, II and III|I only|II only|II and III only",
    ),
]
EXCEPT = [
    ("All of the following are noble gases EXCEPT:", "Nitrogen|Argon|Xenon|Krypton"),
    ("All of the following are prime numbers EXCEPT:", "91|89|97|83"),
    (
        "All of the following are functions of the liver EXCEPT:",
        "Producing insulin|Making bile|Storing glycogen|Making clotting factors",
    ),
    ("Each of the following is a stable sorting algorithm EXCEPT:", "Heapsort|Merge sort|Insertion sort|Counting sort"),
    (
        "All of the following shift the demand curve EXCEPT:",
        "A change in the good's own price|A change in income|A change in a substitute's price|A change in tastes",
    ),
    ("All of the following were Allied powers in the Second World War EXCEPT:", "Finland|Canada|Brazil|Greece"),
    ("All of the following are elements of negligence EXCEPT:", "Intent to harm|Duty of care|Breach|Causation"),
    ("All of the following are current assets EXCEPT:", "Goodwill|Inventory|Trade receivables|Cash"),
    (
        "Each of the following numbers is irrational EXCEPT:",
        "The square root of 1.44|The square root of 2|Pi|The cube root of 3",
    ),
    (
        "All of the following are symptoms typical of hypothyroidism EXCEPT:",
        "Heat intolerance|Weight gain|Fatigue|Constipation",
    ),
    (
        "All of the following are NP-complete problems EXCEPT:",
        "Shortest path with non-negative weights|Boolean satisfiability|Travelling salesman (decision)|Graph 3-colouring",
    ),
    (
        "Which of the following is NOT a consequence of a binding price ceiling below equilibrium?",
        "A surplus of the good|A shortage|Queues|Black markets",
    ),
]

# -- formal logic with quantifiers: strong right, weak wrong; one-step logic: both right ------------------------
HARD_LOGIC = [
    "Some managers are engineers. No engineer is a poet. Which must be true?|Some managers are not poets|No manager is a poet|Some poets are managers|All engineers are managers",
    "If the alarm sounds, either the door opened or the sensor failed. The sensor did not fail and the alarm did not sound. What follows about the door?|Nothing follows about the door|The door opened|The door did not open|The sensor failed",
    "Every student who passed took the review class. {a} did not take the review class. Some who took it failed. Which must be true?|{a} did not pass|{a} passed|Everyone in the review class passed|Nobody failed",
    "The statement 'not every swan is white' is logically equivalent to:|Some swan is not white|No swan is white|Every swan is not white|Some swan is white",
    "If P implies Q and Q implies not-R, and R is true, which must be true?|Not P|P|Q|Not R",
    "No astronomer is a banker and every cartographer is an astronomer. Which must be true?|No cartographer is a banker|Some bankers are cartographers|Every banker is a cartographer|Some cartographers are bankers",
    "Which is the contrapositive of 'if a figure is a square, it is a rectangle'?|If it is not a rectangle, it is not a square|If it is a rectangle, it is a square|If it is not a square, it is not a rectangle|If it is a square, it is not a rectangle",
]
EASY_LOGIC = [
    "All dogs are animals. {a}'s pet Rex is a dog. Is Rex an animal?|Yes|No|Cannot tell|Only sometimes",
    "If it rains, the match is cancelled. It rained. Was the match cancelled?|Yes|No|Cannot tell|Only in winter",
    "{a} is taller than {b}, and {b} is taller than {c}. Who is the shortest?|{c}|{a}|{b}|Cannot tell",
    "A box holds only red balls. {a} takes one ball out. What colour is it?|Red|Blue|Either|Cannot tell",
]


# -- calculations ------------------------------------------------------------------------------------------------
def options(right: float, fmt: str, spread: tuple[float, ...] = (0.5, 0.8, 1.25, 1.6, 2.0)) -> list[str]:
    """The right value first, then three distinct wrong ones."""
    shown = fmt.format(right)
    wrong = [w for w in dict.fromkeys(fmt.format(right * f) for f in spread) if w != shown]
    return [shown, *rng.sample(wrong, 3)]


Calc = Callable[[], tuple[str, list[str]]]


def multi_step() -> dict[str, Calc]:
    """Three or more dependent steps: a small model slips on one of them."""

    def compound() -> tuple[str, list[str]]:
        p, r, y = rng.choice([2000, 5000, 8000]), rng.choice([3, 4, 6]), rng.choice([2, 3, 5])
        v = p * (1 + r / 1200) ** (12 * y)
        return f"{p:,} is invested at {r}% a year compounded monthly. What is it worth after {y} years?", options(
            v, "{:,.2f}", (0.95, 1.05, 1.1, 0.9)
        )

    def bayes() -> tuple[str, list[str]]:
        prev, sens, fp = rng.choice([0.01, 0.02, 0.05]), rng.choice([0.9, 0.95, 0.99]), rng.choice([0.05, 0.1])
        post = prev * sens / (prev * sens + (1 - prev) * fp)
        return (
            f"A disease affects {prev:.0%} of people. A test detects it {sens:.0%} of the time and gives false positives {fp:.0%} of the time. Someone tests positive. What is the chance they have the disease?",
            options(post, "{:.1%}", (2.5, 4.0, 0.5, 3.0)),
        )

    def gas() -> tuple[str, list[str]]:
        n, t, v = rng.choice([0.5, 1.5, 2.0]), rng.choice([27, 77, 127]), rng.choice([10, 20, 25])
        p = n * 8.314 * (t + 273.15) / (v / 1000) / 1000
        return f"{n} mol of an ideal gas is held at {t} C in a {v} L vessel. What is its pressure in kPa?", options(
            p, "{:.0f} kPa"
        )

    def projectile() -> tuple[str, list[str]]:
        u, a = rng.choice([20, 25, 30]), rng.choice([30, 45, 60])
        r = u * u * math.sin(math.radians(2 * a)) / 9.81
        return (
            f"A stone is thrown at {u} m/s at {a} degrees above level ground. How far away does it land (g = 9.81)?",
            options(r, "{:.1f} m"),
        )

    def chain() -> tuple[str, list[str]]:
        a, b, c = rng.choice([10, 20, 25]), rng.choice([10, 15, 20]), rng.choice([5, 10])
        f = (1 + a / 100) * (1 - b / 100) * (1 + c / 100)
        return f"A price rises {a}%, then falls {b}%, then rises {c}%. What is the overall change?", options(
            (f - 1) * 100 or 0.5, "{:+.2f}%", (2.0, -1.0, 3.0, 0.5)
        )

    def pipes() -> tuple[str, list[str]]:
        a, b, c = rng.choice([4, 6, 8]), rng.choice([12, 10, 9]), rng.choice([18, 24, 36])
        t = 1 / (1 / a + 1 / b - 1 / c)
        return (
            f"Pipe A fills a tank in {a} hours, pipe B in {b} hours, and a drain empties it in {c} hours. With all three open, how long does filling take?",
            options(t, "{:.2f} h"),
        )

    def decay() -> tuple[str, list[str]]:
        h, t, m = rng.choice([5.3, 8.0, 12.5]), rng.choice([20, 30, 40]), rng.choice([80, 200, 500])
        left = m * 0.5 ** (t / h)
        return f"A sample of {m} mg has a half-life of {h} days. How much remains after {t} days?", options(
            left, "{:.2f} mg"
        )

    def dilution() -> tuple[str, list[str]]:
        c, v, w = rng.choice([0.1, 0.01, 0.05]), rng.choice([10, 25, 50]), rng.choice([250, 500, 1000])
        ph = -math.log10(c * v / w)
        return f"{v} mL of {c} M hydrochloric acid is diluted with water to {w} mL. What is the pH?", options(
            ph, "{:.2f}", (0.7, 1.3, 0.85, 1.5)
        )

    def bond() -> tuple[str, list[str]]:
        cpn, y, n = rng.choice([4, 5, 6]), rng.choice([3, 7, 8]), rng.choice([3, 4, 5])
        price = sum(cpn * 10 / (1 + y / 100) ** t for t in range(1, n + 1)) + 1000 / (1 + y / 100) ** n
        return (
            f"A {n}-year bond with face value 1,000 pays a {cpn}% annual coupon. If the yield is {y}%, what is its price?",
            options(price, "{:,.2f}", (0.9, 1.08, 0.95, 1.12)),
        )

    def ddb() -> tuple[str, list[str]]:
        cost, life, year = rng.choice([30000, 50000, 80000]), rng.choice([5, 8, 10]), rng.choice([2, 3])
        book = cost * (1 - 2 / life) ** (year - 1)
        return (
            f"Equipment costing {cost:,} with a {life}-year life is depreciated by the double-declining-balance method. What is the depreciation charge in year {year}?",
            options(book * 2 / life, "{:,.0f}"),
        )

    def committee() -> tuple[str, list[str]]:
        m, w, k = rng.choice([6, 7, 8]), rng.choice([4, 5, 6]), rng.choice([4, 5])
        total = sum(comb(m, k - j) * comb(w, j) for j in range(2, min(w, k) + 1))
        return f"From {m} men and {w} women, how many committees of {k} include at least two women?", options(
            total, "{:,.0f}"
        )

    def trains() -> tuple[str, list[str]]:
        d, v1, v2, lag = (
            rng.choice([300, 420, 480]),
            rng.choice([60, 80]),
            rng.choice([90, 100]),
            rng.choice([0.5, 1.0]),
        )
        t = (d + v1 * lag) / (v1 + v2)
        return (
            f"Two towns are {d} km apart. A train leaves the first at {v1} km/h; {lag} hours later a train leaves the second towards it at {v2} km/h. How long after the second train leaves do they meet?",
            options(t, "{:.2f} h"),
        )

    def mixture() -> tuple[str, list[str]]:
        a, b, want, total = rng.choice([10, 20]), rng.choice([50, 60]), rng.choice([30, 35, 40]), rng.choice([10, 20])
        x = total * (b - want) / (b - a)
        return (
            f"How many litres of a {a}% acid solution must be mixed with a {b}% solution to make {total} L of {want}% solution?",
            options(x, "{:.2f} L"),
        )

    def breakeven() -> tuple[str, list[str]]:
        fixed, price, var, profit = (
            rng.choice([40000, 60000]),
            rng.choice([25, 40]),
            rng.choice([10, 15]),
            rng.choice([10000, 20000]),
        )
        return (
            f"A product sells for {price} with variable cost {var} per unit and fixed costs of {fixed:,}. How many units give a profit of {profit:,}?",
            options((fixed + profit) / (price - var), "{:,.0f}"),
        )

    def expected() -> tuple[str, list[str]]:
        n, prize, cost = rng.choice([2, 3]), rng.choice([10, 20, 30]), rng.choice([2, 3, 5])
        p = 1 - (5 / 6) ** n
        return (
            f"A game costs {cost} to play: you roll {n} dice and win {prize} if at least one shows a six. What is the expected profit per game?",
            options(p * prize - cost or 0.1, "{:.2f}", (2.0, -1.0, 0.5, 1.5)),
        )

    def heat() -> tuple[str, list[str]]:
        m, t0 = rng.choice([0.2, 0.5, 1.0]), rng.choice([-10, -20])
        q = m * (2.09 * -t0 + 334 + 4.18 * 100)
        return (
            f"How much heat turns {m} kg of ice at {t0} C into water at 100 C (ice 2.09 kJ/kg K, fusion 334 kJ/kg, water 4.18 kJ/kg K)?",
            options(q, "{:.1f} kJ"),
        )

    return {
        k.__name__: k
        for k in (
            compound,
            bayes,
            gas,
            projectile,
            chain,
            pipes,
            decay,
            dilution,
            bond,
            ddb,
            committee,
            trains,
            mixture,
            breakeven,
            expected,
            heat,
        )
    }


def one_step() -> dict[str, Calc]:
    """One operation, or a conversion: a small model gets these."""

    def percent() -> tuple[str, list[str]]:
        a, b = rng.choice([10, 20, 25, 50]), rng.choice([40, 80, 120, 200, 360])
        return f"What is {a}% of {b}?", options(a * b / 100, "{:g}")

    def discount() -> tuple[str, list[str]]:
        p, d = rng.choice([20, 40, 60, 80]), rng.choice([10, 25, 50])
        return f"A shirt costs {p} and is {d}% off. What is the sale price?", options(p * (1 - d / 100), "{:g}")

    def convert() -> tuple[str, list[str]]:
        km = rng.choice([5, 10, 42, 100])
        return f"How many metres are in {km} kilometres?", options(km * 1000, "{:,}")

    def speed() -> tuple[str, list[str]]:
        d, t = rng.choice([120, 180, 240]), rng.choice([2, 3, 4])
        return f"A car travels {d} km in {t} hours at a steady speed. What is its speed?", options(d / t, "{:g} km/h")

    def area() -> tuple[str, list[str]]:
        a, b = rng.randint(3, 12), rng.randint(3, 12)
        return f"What is the area of a rectangle {a} m by {b} m?", options(a * b, "{} m^2")

    def average() -> tuple[str, list[str]]:
        xs = rng.sample(range(2, 30), 3)
        return f"What is the average of {xs[0]}, {xs[1]} and {xs[2]}?", options(sum(xs) / 3, "{:.2f}")

    def ohm() -> tuple[str, list[str]]:
        v, r = rng.choice([6, 12, 24]), rng.choice([2, 3, 4, 6])
        return f"A {v} V battery drives current through a {r} ohm resistor. What is the current?", options(
            v / r, "{:g} A"
        )

    def interest() -> tuple[str, list[str]]:
        p, r = rng.choice([1000, 2000, 5000]), rng.choice([2, 3, 5])
        return f"What simple interest does {p:,} earn in one year at {r}%?", options(p * r / 100, "{:g}")

    return {k.__name__: k for k in (percent, discount, convert, speed, area, average, ohm, interest)}


# -- a standard textbook result in technical words: both right (technical vocabulary is not obscurity) ---------
TEXTBOOK = """\
What does a mutex give the threads that share it?|Mutual exclusion over a critical section|Faster memory access|Automatic deadlock detection|Parallel execution of the section
In a B-tree, where are all the leaves?|At the same depth|At depth one|Only on the left side|At random depths
In economics, the opportunity cost of a choice is:|The value of the next best alternative given up|The money spent|The sunk cost|The tax paid
What is the main job of ribosomes?|Making proteins|Storing DNA|Producing ATP|Digesting waste
In an elastic collision, which quantity is conserved besides momentum?|Kinetic energy|Temperature|Volume|Charge density
When the discount rate rises, the present value of a fixed future payment:|Falls|Rises|Stays the same|Doubles
What happens to the standard error of the mean as the sample size grows?|It shrinks|It grows|It stays fixed|It becomes negative
In database transactions, what does the A in ACID stand for?|Atomicity|Availability|Accuracy|Authorisation
A price floor set above the equilibrium price causes:|A surplus|A shortage|No change|Lower prices
What is the derivative of e^x?|e^x|x e^(x-1)|ln x|1/x
What is the antiderivative of 1/x for x > 0?|ln x + C|x^2/2 + C|-1/x^2 + C|e^x + C
A hash collision happens when:|Two keys map to the same slot|A table is empty|A key is deleted|The hash function is slow
Which HTTP status code means the resource was not found?|404|200|301|500
In double-entry bookkeeping, every transaction affects at least:|Two accounts|One account|Three accounts|Every account
What does a catalyst do to the activation energy of a reaction?|Lowers it|Raises it|Leaves it unchanged|Makes it negative
An organism with two different alleles for a gene is called:|Heterozygous|Homozygous|Haploid|Polyploid
A common rule-of-thumb definition of a recession is:|Two consecutive quarters of falling real GDP|One month of rising unemployment|A stock market fall of 10%|Any year with inflation above 5%
What does inserting at the head of a singly linked list cost?|O(1)|O(n)|O(log n)|O(n^2)
In criminal law, 'mens rea' refers to:|The mental element of a crime|The physical act|The sentence|The victim's consent
What is the pH of pure water at 25 C?|7|0|14|1
In object-oriented programming, inheritance lets a class:|Reuse and extend another class's behaviour|Run on several cores|Hide all its fields|Avoid compilation
What does a p-value measure?|How likely data this extreme are if the null hypothesis holds|The probability the null is true|The effect size|The sample size needed
"""

# -- compact mathematics: a short stem hiding several steps (counting, modular arithmetic, exponents): strong only --
COMPACT_MATH = """\
How many positive divisors does 360 have?|24|18|20|12
What is the remainder when 3^50 is divided by 7?|2|1|4|6
If 3^(x+1) = 9^(x-1), what is x?|3|1|2|4
How many committees of 3 can be chosen from 9 people if two of them refuse to serve together?|77|84|63|70
What is the sum of the digits of 2^15?|26|23|29|32
How many trailing zeros does 125! have?|31|25|30|26
How many diagonals does a 15-sided polygon have?|90|105|75|210
What is gcd(1071, 462)?|21|7|42|14
What are the last two digits of 7^40?|01|49|43|07
What is the coefficient of x^3 in (2x - 1)^5?|80|-80|40|160
How many integers from 1 to 500 are divisible by 3 or by 7 but not by both?|191|214|237|168
For A = [[1, 2], [3, 4]], what is the trace of A^2?|29|25|30|5
Two cards are drawn from a standard deck without replacement. What is the probability both are aces?|1/221|1/169|1/13|4/221
To two decimals, what x solves 2^x = 48?|5.58|5.32|6.00|4.79
What is the sum of all positive integers below 100 that leave remainder 2 when divided by 5?|990|970|950|1,010
How many four-digit numbers have digits in strictly increasing order?|126|210|84|252
"""


# -- short-answer word problems (asked without options, as in grade-school maths sets) ----------------------------
# Scenarios unlike the replay files'. The labels follow the count of dependent operations: one or two, a small
# model gets it; four or more (rates, percentages of a remainder, fractions of fractions), it slips on one.
FOLKS = ["Aiko", "Bram", "Chidi", "Dana", "Emeka", "Farah", "Goran", "Hana", "Ilse", "Joao", "Kofi", "Lucia"]
ANSWER_ASKS = ["", " Give only the final number.", " Answer with a number.", " Show the final answer.", " How much?"]

Word = Callable[[str], str]


def counted(text: str, a: tuple[int, int], b: tuple[int, int]) -> Word:
    """A word problem whose two numbers {a} and {b} are drawn from the ranges given, for the person {n}."""

    def word(n: str) -> str:
        first, second = rng.randint(*a), rng.randint(*b)
        return text.format(n=n, a=first, b=second)

    return word


def easy_words() -> dict[str, Word]:
    """One or two operations on small numbers."""

    def bill(n: str) -> str:
        k = rng.choice([2, 4, 5])
        return f"{n} and friends, {k} people in all, split a bill of {k * rng.randint(8, 30)} dollars equally. What does each pay?"

    def tickets(n: str) -> str:
        a, b, c = rng.randint(2, 6), rng.choice([5, 8, 12]), rng.choice([50, 100])
        return (
            f"{n} buys {a} concert tickets at {b} dollars each and pays with a {c} dollar note. How much change is due?"
        )

    def hours(n: str) -> str:
        a = rng.choice([2, 3, 4, 5])
        return f"How many minutes are there in {a} hours and 15 minutes? {n} needs it for a timetable."

    return {
        "bus": counted(
            "A bus driven by {n} has {a} passengers. At the next stop {b} get off. How many passengers are left?",
            (12, 40),
            (2, 11),
        ),
        "aquarium": counted(
            "{n}'s aquarium has {a} fish and {n} adds {b} more. How many fish are in it now?", (5, 20), (2, 9)
        ),
        "seeds": counted(
            "{n} plants {a} garden beds with {b} seeds in each bed. How many seeds does {n} plant?", (3, 9), (4, 12)
        ),
        "printer": counted(
            "A printer prints {a} pages a minute. How many pages does it print for {n} in {b} minutes?",
            (10, 40),
            (2, 9),
        ),
        "bill": bill,
        "tickets": tickets,
        "stamps": counted(
            "{n} had {a} stamps and traded away {b}. Then a cousin gave {n} 10 more. How many stamps now?",
            (30, 90),
            (10, 25),
        ),
        "hours": hours,
    }


# Four or more dependent operations: "kind|text for the person {n}|value=choices|...", each named value drawn from
# its choices (in the order given).
HARD_WORDS = """\
bakery|{n}'s bakery bakes {b} trays of {per} rolls. A sixth of the rolls are set aside for staff, the rest are packed {box} to a bag, and each full bag sells for 4.50. Loose rolls sell at 0.80 each. What is the takings if everything sells?|b=6,8,9|per=24,36|box=5,6
fundraiser|{n} collects {a} dollars on the first day of a fundraiser and {g} dollars more each day than the day before. After 10 days a sponsor matches 50% of the total, and costs of 35 dollars are paid. How much is left for the charity?|a=15,20,25|g=3,4,5
warehouse|A warehouse run by {n} holds {s} boxes. On Monday 22% are shipped, on Tuesday a third of what remains is shipped, and on Wednesday 150 boxes arrive and 5% of all boxes then in stock are found damaged and removed. How many boxes are left?|s=1800,2400,3000
paint|{n} paints the four walls of a room, each {w} m long and {h} m high, minus a door of 1.9 m^2 and two windows of 1.5 m^2 each. Two coats are needed; a tin covers 11 m^2 and costs 17.90. What do the tins cost?|w=4.2,5.5,6.0|h=2.4,2.7
hotel|A hotel managed by {n} has {r} rooms. From Friday to Sunday 85% are booked at 120 a night, on weekdays 55% at 95 a night. Commission of 12% goes to booking sites. What is the hotel's net room income for one full week?|r=40,60,80
salary|{n} earns {s:,} a year. The first 12,570 is untaxed, the rest is taxed at 20%, and 8% of the gross goes to a pension before tax is worked out. After a 6% raise, how much more does {n} take home each month?|s=38000,42000,51000
fuel|{n} drives {d} km to a conference and back. The car uses {e} litres per 100 km on the motorway for 80% of the way and 30% more on the rest. Fuel costs 1.72 a litre and colleagues pay back 40% of it. What does the trip cost {n}?|d=340,420,515|e=6.2,7.4
seating|A hall has {r} rows; the first 6 rows have 14 seats, every row after that has 2 more seats than the one in front. {n} sells 90% of the seats at 22 and the rest at half price. What are the ticket sales?|r=18,24,30
ages|{n}'s mother is {k} times as old as {n}. In 10 years she will be twice as old as {n} will be. How old will {n} be in 5 years?|k=3,4
mixture|{n} has 12 litres of juice that is 30% orange. How many litres of pure orange juice must be added so that the mixture is half orange, and how many litres is the mixture then?
speeds|{n} rows {v} km upstream in 3 hours and returns downstream in 2 hours. What is the speed of the current, and how long would the round trip take in still water?|v=12,15,16
inventory|{n} buys 40 kg of coffee beans at 9.50 a kg. Roasting loses 18% of the weight. The roasted beans are sold in 250 g bags at 6.40, and unsold beans (one bag in twelve) are thrown away. What is the profit?
"""


def picked(text: str, choices: dict[str, list[float]]) -> Word:
    def word(n: str) -> str:
        return text.format(n=n, **{name: rng.choice(values) for name, values in choices.items()})

    return word


def hard_words() -> dict[str, Word]:
    """`HARD_WORDS` as problem makers by kind."""
    makers: dict[str, Word] = {}
    for line in HARD_WORDS.strip().splitlines():
        kind, text, *named = line.split("|")
        choices = {}
        for item in named:
            name, _, values = item.partition("=")
            choices[name] = [float(v) if "." in v else int(v) for v in values.split(",")]
        makers[kind] = picked(text, choices)
    return makers


# -- tracing code: a direct reading (both right) against a language's trap or several steps of state (strong) ----
EASY_CODE = [
    "What does Python print for print(len([7, 8, 9]))?",
    "What is the output of print('data'.upper()) in Python?",
    "In Python, what is 17 // 5?",
    "What does print(max([3, 11, 6])) print?",
    "In JavaScript, what does console.log(4 + 5) log?",
    "What does list(range(4)) evaluate to in Python?",
    "In Python, what does 'a,b,c'.split(',') return?",
    "What is printed by: for i in range(3): print(i)",
]
HARD_CODE = [
    "What does this print? fs = [lambda: i for i in range(3)]; print([f() for f in fs])",
    "In Python, what is -7 // 2, and what is -7 % 2?",
    "What does print([1, 2, 3, 4, 5][::-2]) print in Python?",
    "What is printed? g = (x * 2 for x in range(3)); print(sum(g), sum(g))",
    "What does JavaScript log for console.log('5' - 2 + '1')?",
    "In Java, what does System.out.println(Integer.MAX_VALUE + 1) print?",
    "In Python, is 0.1 + 0.2 == 0.3 True or False, and what does round(2.675, 2) give?",
    "What does Python print? t = (5); u = (5,); print(type(t).__name__, type(u).__name__)",
    "What is printed? d = {'a': 1}; e = d; e['b'] = 2; d = {'c': 3}; print(len(e), len(d))",
    "In SQL, with rows x = 1, 2 and NULL, how many rows does SELECT * FROM t WHERE x <> 1 return?",
    "What does print(1 < 3 > 2 == 2.0) print in Python?",
    'What does this C print? int a = 5; int b = a++ + ++a; printf("%d %d", a, b); (assume left-to-right evaluation)',
]

# -- puzzles that need several constraints kept at once: strong right, weak wrong ----------------------------------
PUZZLES = [
    "{a}, {b} and {c} own a cat, a dog and a parrot, one each. {a} does not own the dog. The parrot's owner is not {b}. {c} owns the cat. Who owns the parrot?",
    "In a row of five houses, the green one is immediately left of the white one, the red one is in the middle, and the blue one is at an end next to the yellow one. Which colour is at the far right if the blue house is on the left end?",
    "{a} is two places ahead of {b} in a queue of six; {c} is last; {b} is not first and is directly behind the person in third place. What position is {a}?",
    "A says: 'exactly one of us is lying.' B says: 'we are both lying.' Each is either a truth-teller or a liar. Who is lying?",
    "Three boxes are labelled apples, oranges and mixed, and every label is wrong. You may take one fruit from one box. From which box should you take it to relabel all three correctly?",
    "{a} has twice as many sisters as brothers, and each of {a}'s sisters has as many brothers as sisters. {a} is a boy. How many children are in the family?",
]
EASY_PUZZLES = [
    "{a} is older than {b}. Who is the younger of the two?",
    "If today is Tuesday, what day is it tomorrow? {a} asks.",
    "{a} has a red pen and a blue pen and gives the blue one away. Which pen is left?",
]


# -- popular misconceptions in plain words: a small model repeats the common belief; strong right, weak wrong -----
MISCONCEPTIONS = """\
On average over a year, which planet is closest to Earth?|Mercury|Venus|Mars|Jupiter
What colour is an aircraft's flight recorder, the so-called black box?|Bright orange|Black|Dark grey|Silver
How long is the memory span of a goldfish, roughly?|Months|Three seconds|Ten seconds|One minute
Which of these is the tallest mountain measured from base to peak?|Mauna Kea|Mount Everest|K2|Kilimanjaro
What did medieval Europeans generally believe about the shape of the Earth?|That it was round|That it was flat|That it was a cube|That it was hollow
How many senses do humans have, by the count most physiologists use?|More than five|Exactly five|Three|Four
Does a penny dropped from a skyscraper kill a person walking below?|No, it reaches a low terminal speed|Yes, almost always|Only if it hits the head|Only from above 100 floors
Which part of the tongue tastes sweet things?|All parts of the tongue|Only the tip|Only the back|Only the sides
What is the main reason the sky looks blue?|Scattering of sunlight by air molecules|Reflection of the oceans|Blue dust in the air|Ozone is blue
Which country has the most time zones counting overseas territories?|France|Russia|United States|China
Which is the largest desert on Earth?|Antarctica|Sahara|Gobi|Arabian
What is the driest inhabited continent?|Australia|Africa|Antarctica|Asia
Do bulls become angry at the colour red?|No, they react to the cape's movement|Yes, red enrages them|Only bright red|Only in sunlight
Bats are:|Not blind; many see well|Completely blind|Blind but see heat|Blind at night only
When a person shaves, does the hair grow back thicker?|No|Yes, always|Yes, but only on the face|Only in winter
Where did fortune cookies as served in restaurants originate?|Japan and then California|China|Korea|Vietnam
How much of their brain do people typically use?|Virtually all of it|About ten percent|About a third|About half
Lightning never strikes the same place twice: is that true?|No, it often strikes the same place|Yes, never|Only on flat ground|Only in summer
"""

# -- two facts chained (the X of the Y that Z): each hop is well known, the chain is not: strong right, weak wrong ---
MULTI_HOP = """\
The river that flows through the capital of Hungary empties into which sea?|Black Sea|Adriatic Sea|Baltic Sea|Aegean Sea
What is the atomic number of the element named after the chemist who published the periodic table in 1869?|101|99|102|100
In which city was the physicist born after whom the SI unit of frequency is named?|Hamburg|Berlin|Vienna|Munich
Which ocean borders the country whose capital is Maputo?|Indian Ocean|Atlantic Ocean|Pacific Ocean|Southern Ocean
What is the official language of the country that won the first FIFA World Cup?|Spanish|Portuguese|Italian|English
Who was the monarch of England when the author of 'Paradise Lost' was born?|James I|Elizabeth I|Charles I|Charles II
The mountain range between France and Spain holds which small country?|Andorra|Monaco|Liechtenstein|San Marino
What is the capital of the country in which most of the Atacama Desert lies?|Santiago|Lima|La Paz|Buenos Aires
The element that shares its name with the planet found in 1846 has what atomic number?|93|92|94|91
Which sea lies to the west of the country whose largest city is Almaty?|Caspian Sea|Black Sea|Red Sea|Mediterranean Sea
What was the first name of the wife of the US president who made the Louisiana Purchase?|Martha|Abigail|Dolley|Eliza
The playwright of 'A Doll's House' shares a nationality with which composer?|Edvard Grieg|Jean Sibelius|Carl Nielsen|Bela Bartok
On which continent is the country whose flag shows a cedar tree?|Asia|Africa|Europe|South America
The scientist after whom the unit of electrical resistance is named was born in which present-day country?|Germany|France|Italy|Austria
Which language is mainly spoken in the city that hosted the 1992 Summer Olympics besides Spanish?|Catalan|Basque|Galician|Portuguese
"""

# -- standard definitions in specialist-sounding fields (music, geology, astronomy, linguistics, sailing, optics):
# technical words, but any model answers them: both right ----------------------------------------------------------
FIELD_BASICS = """\
In music theory, how many semitones make a perfect fifth?|Seven|Five|Four|Nine
What type of rock forms when magma cools and hardens?|Igneous|Sedimentary|Metamorphic|Evaporite
Which layer of the Sun do we see as its visible surface?|Photosphere|Corona|Core|Chromosphere
In linguistics, the smallest unit of meaning in a language is a:|Morpheme|Phoneme|Syllable|Grapheme
On a sailing boat, the left side facing forward is called:|Port|Starboard|Stern|Bow
A convex lens that brings parallel light to a point is called a:|Converging lens|Diverging lens|Prism|Mirror
In chemistry, a solution with a pH below 7 is:|Acidic|Basic|Neutral|Saturated
In photography, a wider aperture gives a depth of field that is:|Shallower|Deeper|Unchanged|Infinite
In astronomy, a light-year measures:|Distance|Time|Brightness|Mass
In architecture, a flying buttress is typical of which style?|Gothic|Brutalist|Art Deco|Bauhaus
In geology, the boundary where two plates move apart is:|Divergent|Convergent|Transform|Subduction
In music, a time signature of 3/4 has how many beats in a bar?|Three|Four|Two|Six
Which of these is NOT a noble gas?|Nitrogen|Neon|Argon|Krypton
Which of these is NOT a primary colour of light in the RGB model?|Yellow|Red|Green|Blue
Which of these is NOT a mammal?|Shark|Whale|Bat|Dolphin
Which of these is NOT a programming language?|HTML5 canvas|Python|Java|Rust
In grammar, which of these words is NOT a preposition?|Quickly|Under|Between|Through
Which planet is NOT a gas giant?|Mars|Jupiter|Saturn|Neptune
"""


# -- presentation ------------------------------------------------------------------------------------------------
def present(question: str, answers: list[str]) -> str:
    """Multiple choice in one of several layouts, or a short-answer question."""
    right, wrong = answers[0], answers[1:4]
    shuffled = [right, *wrong]
    rng.shuffle(shuffled)
    style = rng.randrange(9)
    if style >= 6:  # the layouts of the tier library's exam questions too, so layout says nothing about the label
        body = "\n".join(f"{'ABCD'[i]}) {o}" for i, o in enumerate(shuffled))
        return [
            f"{question}\n{body}\nAnswer with the letter.",
            f"{question}\n{body}",
            f"Question: {question}\n{body}\nAnswer:",
        ][style - 6]
    if style == 0:
        return (
            f"{question}\n"
            + "\n".join(f"({'abcd'[i]}) {o}" for i, o in enumerate(shuffled))
            + "\nReply with the letter only."
        )
    if style == 1:
        return f"{question} Options: " + "; ".join(f"{'ABCD'[i]}. {o}" for i, o in enumerate(shuffled)) + "."
    if style == 2:
        return (
            f"{question}\n\n"
            + "\n".join(f"{i + 1}. {o}" for i, o in enumerate(shuffled))
            + "\n\nWhich number is correct?"
        )
    if style == 3:
        return f"Q: {question}\nA short answer, please."
    if style == 4:
        return f"{question}\n" + "\n".join(f"{'ABCD'[i]}) {o}" for i, o in enumerate(shuffled)) + "\nAnswer:"
    return f"Exam question. {question}\n" + "\n".join(f"{'ABCD'[i]}: {o}" for i, o in enumerate(shuffled))


def row(question: str, answers: list[str], group: str, strong: bool, weak: bool) -> dict[str, object]:
    return {"prompt": present(question, answers), "strong_correct": strong, "weak_correct": weak, "group": group}


def open_row(question: str, group: str, strong: bool, weak: bool) -> dict[str, object]:
    """A short-answer question: no options, sometimes a word on the answer's form."""
    return {
        "prompt": question + rng.choice(ANSWER_ASKS),
        "strong_correct": strong,
        "weak_correct": weak,
        "group": group,
    }


def names(text: str) -> str:
    a, b, c = rng.sample(PEOPLE, 3)
    return text.replace("{a}", a).replace("{b}", b).replace("{c}", c)


def recall(block: str, kind: str, strong: bool, weak: bool) -> Iterator[dict[str, object]]:
    for i, line in enumerate(block.strip().splitlines()):
        question, *answers = line.split("|")
        yield row(question, answers, f"{kind}:{i // 6}", strong, weak)


def with_names(
    items: list[tuple[str, str]], kind: str, strong: bool, weak: bool, copies: int
) -> Iterator[dict[str, object]]:
    for i, (question, answers) in enumerate(items):
        for _ in range(copies):
            filled = names(f"{question}\n{answers}")
            q, a = filled.split("\n", 1)
            yield row(q, a.split("|"), f"{kind}:{i}", strong, weak)


def rows() -> Iterator[dict[str, object]]:
    yield from recall(WELL_KNOWN, "recall_known", True, True)
    yield from recall(FAMOUS_RARE_NAMES, "recall_famous_rare_names", True, True)
    yield from recall(CLASSIC, "vignette_classic", True, True)
    yield from recall(LESS_KNOWN, "recall_less_known", True, False)
    yield from recall(OBSCURE, "obscure", False, False)
    yield from recall(TEXTBOOK, "textbook_result", True, True)
    yield from recall(COMPACT_MATH, "compact_math", True, False)
    yield from with_names(APPLY, "apply_rule", True, False, 2)
    yield from with_names(COMBINE, "combine_statements", True, False, 1)
    yield from with_names(EXCEPT, "all_except", True, False, 1)
    hard = [(q, a) for q, a in (line.split("|", 1) for line in HARD_LOGIC)]
    easy = [(q, a) for q, a in (line.split("|", 1) for line in EASY_LOGIC)]
    yield from with_names(hard, "logic_quantifiers", True, False, 2)
    yield from with_names(easy, "logic_one_step", True, True, 3)
    for name, make in multi_step().items():
        for _ in range(PER_KIND):
            yield row(*make(), f"calc_multi:{name}", True, False)
    for name, make in one_step().items():
        for _ in range(PER_KIND):
            yield row(*make(), f"calc_one:{name}", True, True)
    for name, word in easy_words().items():
        for _ in range(PER_KIND // 2):
            yield open_row(word(rng.choice(FOLKS)), f"words_easy:{name}", True, True)
    for name, word in hard_words().items():
        for _ in range(PER_KIND // 2):
            yield open_row(word(rng.choice(FOLKS)), f"words_multi:{name}", True, False)
    for i, question in enumerate(EASY_CODE):
        yield open_row(question, f"code_direct:{i // 2}", True, True)
    for i, question in enumerate(HARD_CODE):
        yield open_row(question, f"code_trap:{i // 2}", True, False)
    for i, question in enumerate(PUZZLES):
        for _ in range(2):
            yield open_row(names(question), f"puzzle_constraints:{i}", True, False)
    for i, question in enumerate(EASY_PUZZLES):
        for _ in range(2):
            yield open_row(names(question), f"puzzle_one_step:{i}", True, True)
    yield from recall(MISCONCEPTIONS, "misconception", True, False)
    yield from recall(FIELD_BASICS, "field_basics", True, True)
    yield from recall(MULTI_HOP, "multi_hop", True, False)


def prompts(path: Path) -> set[str]:
    return {json.loads(line)["prompt"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def leave_out() -> None:
    """The development measure, which spends no evaluation set: each written set in turn is left out of training
    and replayed against the model trained on the rest, then the dev replay against the model trained on all.
    Prints the strong-call share needed to keep 95 % of the strong model's quality, with random and oracle."""
    import numpy as np

    from sophia.router import features
    from sophia.router import gain as gain_model

    def replayed(model: gain_model.GainModel, rows: list[dict[str, object]]) -> dict[str, float]:
        strong = np.array([bool(r["strong_correct"]) for r in rows], dtype=float)
        weak = np.array([bool(r["weak_correct"]) for r in rows], dtype=float)
        expected = np.array([model.assess(str(r["prompt"]), None, features.extract(str(r["prompt"]))) for r in rows])
        return gain_model.replay_shares(expected, strong, weak, KEEP)

    def read(path: Path) -> list[dict[str, object]]:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    results: dict[str, dict[str, float]] = {}
    for path in sorted(WRITTEN.glob("*.jsonl")):
        model = gain_model.GainModel.train(gain_model.shipped_rows(leave_out=path.stem))
        results[path.stem] = replayed(model, read(path))
    results[REPLAY.stem] = replayed(gain_model.train_shipped(), read(REPLAY))
    print(f"strong calls to keep {KEEP:.0%} of strong quality (the set left out of training; the dev replay last):")
    for name, r in results.items():
        print(f"  {name:32} router {r['router']:.3f}  random {r['random']:.3f}  oracle {r['oracle']:.3f}")
    written = [r for name, r in results.items() if name != REPLAY.stem]
    if written:
        gap = sum(r["router"] - r["oracle"] for r in written) / len(written)
        print(f"  written sets: mean router {sum(r['router'] for r in written) / len(written):.3f}, "
              f"mean gap to the oracle {gap:.3f}")  # fmt: skip


def main() -> None:
    if "--leave-out" in sys.argv[1:]:
        leave_out()
        return
    unique: dict[str, dict[str, object]] = {}
    for r in rows():
        unique.setdefault(str(r["prompt"]), r)
    # No training question may be in a replay file (the dev replay or a blind one).
    replay = set().union(*(prompts(path) for path in (REPLAY, *BLIND_REPLAYS)))
    written = set().union(*(prompts(path) for path in WRITTEN.glob("*.jsonl")))
    clash = sorted((set(unique) | written) & replay)
    if clash:
        raise SystemExit(f"{len(clash)} training question(s) are in a replay file: {clash[:3]}")
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in unique.values()), encoding="utf-8")
    kinds: dict[str, int] = {}
    for r in unique.values():
        kind = str(r["group"]).split(":")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    gain = sum(bool(r["strong_correct"]) and not r["weak_correct"] for r in unique.values())
    print(f"{len(unique)} questions written to {OUT} ({gain} where only the strong model is right): {kinds}")
    # The service loads the trained model rather than retraining it at every start.
    from sophia.router import gain as gain_model

    WEIGHTS.write_text(gain_model.train_shipped().to_json() + "\n", encoding="utf-8")
    print(f"trained on it and the tier library; weights written to {WEIGHTS}")


if __name__ == "__main__":
    main()
