"""Writes data/qa/facts.jsonl from the lists below (python3 data/qa/make_facts.py, from the repository root).

The questions and answers were written by hand for Loupe; arithmetic is generated from a seeded stream and
computed here. See data/qa/README.md."""
import json, os, random

items = []
def add(cat, q, a, *aliases):
    items.append((cat, q, a, [a] + [x for x in aliases if x != a]))

# Capitals (unambiguous, single official seat of government).
capitals = [
 ("France","Paris"),("Germany","Berlin"),("Spain","Madrid"),("Portugal","Lisbon"),("United Kingdom","London"),
 ("Ireland","Dublin"),("Belgium","Brussels"),("Austria","Vienna"),("Switzerland","Bern","Berne"),("Poland","Warsaw"),
 ("Czech Republic","Prague"),("Hungary","Budapest"),("Greece","Athens"),("Sweden","Stockholm"),("Norway","Oslo"),
 ("Finland","Helsinki"),("Denmark","Copenhagen"),("Iceland","Reykjavik","Reykjavík"),("Russia","Moscow"),("Ukraine","Kyiv","Kiev"),
 ("Romania","Bucharest"),("Bulgaria","Sofia"),("Serbia","Belgrade"),("Croatia","Zagreb"),("Slovakia","Bratislava"),
 ("Slovenia","Ljubljana"),("Estonia","Tallinn"),("Latvia","Riga"),("Lithuania","Vilnius"),("Turkey","Ankara"),
 ("Egypt","Cairo"),("Kenya","Nairobi"),("Nigeria","Abuja"),("Ghana","Accra"),("Ethiopia","Addis Ababa"),
 ("Morocco","Rabat"),("Algeria","Algiers"),("Tunisia","Tunis"),("Senegal","Dakar"),("Uganda","Kampala"),
 ("Japan","Tokyo"),("China","Beijing","Peking"),("India","New Delhi","Delhi"),("South Korea","Seoul"),("Thailand","Bangkok"),
 ("Vietnam","Hanoi"),("Indonesia","Jakarta"),("Philippines","Manila"),("Malaysia","Kuala Lumpur"),("Pakistan","Islamabad"),
 ("Bangladesh","Dhaka"),("Nepal","Kathmandu"),("Afghanistan","Kabul"),("Iran","Tehran"),("Iraq","Baghdad"),
 ("Saudi Arabia","Riyadh"),("Syria","Damascus"),("Lebanon","Beirut"),("Jordan","Amman"),("Qatar","Doha"),
 ("Canada","Ottawa"),("United States","Washington, D.C.","Washington","Washington DC"),("Mexico","Mexico City"),("Cuba","Havana"),("Jamaica","Kingston"),
 ("Brazil","Brasília","Brasilia"),("Argentina","Buenos Aires"),("Chile","Santiago"),("Peru","Lima"),("Colombia","Bogotá","Bogota"),
 ("Venezuela","Caracas"),("Ecuador","Quito"),("Uruguay","Montevideo"),("Paraguay","Asunción","Asuncion"),("Australia","Canberra"),
 ("New Zealand","Wellington"),("Mongolia","Ulaanbaatar","Ulan Bator"),("Cyprus","Nicosia"),("Malta","Valletta"),("Luxembourg","Luxembourg","Luxembourg City"),
]
for c in capitals:
    add("capital", f"What is the capital of {'the ' if c[0] in ('United Kingdom','Czech Republic','Philippines','United States') else ''}{c[0]}?", c[1], *c[2:])

# Arithmetic, generated from a seeded stream (answers computed here; words for 0..100 as aliases).
ones = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
tens = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
def words(n):
    if n < 20: return ones[n]
    if n == 100: return "one hundred"
    t, o = divmod(n, 10)
    return tens[t] + ("" if o == 0 else "-" + ones[o])
rng = random.Random(20260601)
seen = {("plus", 2, 3)}
def arith(op, lo, hi, count):
    k = 0
    while k < count:
        a, b = rng.randint(lo, hi), rng.randint(lo, hi)
        if op == "minus" and a < b: a, b = b, a
        if op == "divided by":
            a = a * b
        if (op, a, b) in seen: continue
        seen.add((op, a, b))
        r = {"plus": a + b, "minus": a - b, "times": a * b, "divided by": a // b}[op]
        ws = words(r) if r <= 100 else None
        al = [str(r)] + ([ws] if ws else []) + ([ws.replace("-", " ")] if ws and "-" in ws else [])
        add("arithmetic", f"What is {a} {op} {b}?", *al)
        k += 1
arith("plus", 1, 20, 20); arith("minus", 1, 20, 15); arith("times", 2, 10, 15); arith("divided by", 2, 9, 8)
for q, a, *al in [("How many days are in a week?","7","seven"),("How many months are in a year?","12","twelve"),
    ("How many hours are in a day?","24","twenty-four","twenty four"),("How many minutes are in an hour?","60","sixty"),
    ("How many seconds are in a minute?","60","sixty"),("How many legs does a spider have?","8","eight"),
    ("How many legs does an insect have?","6","six"),("How many sides does a triangle have?","3","three"),
    ("How many sides does a square have?","4","four"),("How many sides does a hexagon have?","6","six"),
    ("How many sides does an octagon have?","8","eight"),("How many sides does a pentagon have?","5","five"),
    ("How many days are in a leap year?","366"),("How many days are in a normal year?","365"),
    ("How many centimetres are in a metre?","100","one hundred","hundred"),("How many grams are in a kilogram?","1000","1,000","one thousand","thousand"),
    ("How many continents are there?","7","seven"),("How many players are on a soccer team on the field?","11","eleven"),
    ("How many strings does a standard guitar have?","6","six"),("How many planets are in the solar system?","8","eight"),
    ("How many wheels does a bicycle have?","2","two"),("How many wheels does a tricycle have?","3","three"),
    ("How many legs does a dog have?","4","four"),("How many eyes does a human have?","2","two"),
    ("How many fingers are on one human hand?","5","five"),("How many years are in a century?","100","one hundred","hundred"),
    ("How many years are in a decade?","10","ten"),("How many letters are in the English alphabet?","26","twenty-six","twenty six"),
    ("How many weeks are in a year?","52","fifty-two","fifty two"),("How many days are in September?","30","thirty")]:
    add("numbers", q, a, *al)

# Opposites.
for w, o, *al in [("hot","cold"),("up","down"),("day","night"),("fast","slow"),("happy","sad"),("old","new","young"),
    ("tall","short"),("light","dark","heavy"),("open","closed","shut","close"),("wet","dry"),("hard","soft","easy"),("early","late"),
    ("full","empty"),("good","bad","evil"),("rich","poor"),("strong","weak"),("loud","quiet","soft"),("black","white"),
    ("win","lose"),("push","pull"),("left","right"),("north","south"),("east","west"),("inside","outside"),
    ("love","hate"),("buy","sell"),("true","false"),("thick","thin"),("clean","dirty"),("sweet","sour","bitter","savory","salty"),
    ("first","last"),("begin","end","finish"),("alive","dead"),("friend","enemy","foe"),("above","below","beneath","under"),
    ("remember","forget"),("cheap","expensive","dear"),("heavy","light"),("long","short"),("high","low"),
    ("near","far"),("yes","no"),("always","never"),("question","answer"),("arrive","leave","depart")]:
    add("opposite", f"What is the opposite of {w}?", o, *al)

# Plurals.
for s, p in [("mouse","mice"),("child","children"),("man","men"),("woman","women"),("tooth","teeth"),("foot","feet"),
    ("goose","geese"),("person","people"),("ox","oxen"),("sheep","sheep"),("fish","fish"),("deer","deer"),
    ("knife","knives"),("leaf","leaves"),("wolf","wolves"),("baby","babies"),("city","cities"),("box","boxes"),
    ("bus","buses"),("cactus","cacti"),("potato","potatoes"),("tomato","tomatoes"),("cat","cats"),("dog","dogs"),
    ("book","books"),("church","churches"),("wife","wives"),("half","halves"),("louse","lice"),("life","lives")]:
    add("plural", f"What is the plural of {s}?", p)

# Colours.
for q, a, *al in [("What colour is the sky on a clear day?","blue"),("What colour is grass?","green"),
    ("What colour is snow?","white"),("What colour is a ripe banana?","yellow"),("What colour is a ripe tomato?","red"),
    ("What colour is coal?","black"),("What colour is milk?","white"),("What colour are most leaves in summer?","green"),
    ("What colour do you get by mixing blue and yellow?","green"),("What colour do you get by mixing red and white?","pink"),
    ("What colour do you get by mixing red and yellow?","orange"),("What colour do you get by mixing red and blue?","purple","violet"),
    ("What colour do you get by mixing black and white?","grey","gray"),("What colour is a carrot?","orange"),
   ("What colour is blood?","red"),
    ("What colour is a polar bear's fur?","white"),("What colour is chocolate?","brown"),
    ("What colour is a stop sign?","red"),("What colour is a lemon?","yellow"),("What colour is an emerald?","green"),
    ("What colour is a ruby?","red"),("What colour is a sapphire usually?","blue"),("What colour is a flamingo?","pink")]:
    add("colour", q, a, *al)

# Animal sounds.
for an, s, *al in [("cow","moo","moos","mooing"),("dog","woof","bark","barks","barking"),("cat","meow","miaow","meows","purr"),
    ("sheep","baa","bleat","bleats"),("duck","quack","quacks"),("pig","oink","oinks","grunt"),("lion","roar","roars"),
    ("horse","neigh","neighs","whinny"),("owl","hoot","hoots","twit twoo"),("snake","hiss","hisses"),("frog","croak","ribbit","croaks"),
    ("donkey","bray","hee-haw","hee haw","brays"),("bee","buzz","buzzes"),("rooster","cock-a-doodle-doo","crow","crows"),
    ("wolf","howl","howls"),("mouse","squeak","squeaks"),("goat","bleat","baa","maa")]:
    add("animal sound", f"What sound does a {an} make?", s, *al)

# Animals.
for q, a, *al in [("What is a baby dog called?","puppy","pup"),("What is a baby cat called?","kitten","kitty"),
    ("What is a baby cow called?","calf"),("What is a baby sheep called?","lamb"),("What is a baby horse called?","foal","colt","filly"),
    ("What is a baby goat called?","kid"),("What is a baby frog called?","tadpole","froglet"),("What is a baby duck called?","duckling"),
    ("What is a baby kangaroo called?","joey"),("What is a baby bear called?","cub"),("What is a baby lion called?","cub"),
    ("What is a baby pig called?","piglet"),("What is the largest animal on Earth?","blue whale","the blue whale","whale"),
    ("What is the tallest animal?","giraffe"),("What is the fastest land animal?","cheetah"),
    ("Which animal is known as the king of the jungle?","lion"),("What animal has a trunk?","elephant"),
    ("What animal is known for its black and white stripes?","zebra"),("What do bees make?","honey"),
    ("What do caterpillars turn into?","butterflies","butterfly","moths","moth"),
    ("What animal says moo?","cow","cows","cattle"),("Which bird cannot fly and lives in Antarctica?","penguin","emperor penguin"),
    ("What is the largest bird?","ostrich"),("Which animal carries its home on its back?","snail","tortoise","turtle"),
    ("What do pandas mainly eat?","bamboo"),("What animal is Dumbo?","elephant"),("What kind of animal is a shark?","fish"),
    ("What kind of animal is a whale?","mammal"),("What kind of animal is a frog?","amphibian")]:
    add("animal", q, a, *al)

# Geography and common facts.
for q, a, *al in [("What is the largest planet in the solar system?","Jupiter"),("Which planet is closest to the Sun?","Mercury"),
    ("Which planet is known as the Red Planet?","Mars"),("What is the largest ocean on Earth?","Pacific","Pacific Ocean"),
    ("What is the longest river in Africa?","Nile","the Nile"),("What is the tallest mountain in the world?","Mount Everest","Everest"),
    ("What is the largest desert in Africa?","Sahara","the Sahara"),("On which continent is Egypt?","Africa"),
    ("On which continent is Brazil?","South America"),("On which continent is Japan?","Asia"),
    ("What is the largest country by area?","Russia"),
    ("What is the star at the centre of our solar system?","Sun","the Sun"),("What is the natural satellite of the Earth?","Moon","the Moon"),
    ("What gas do plants absorb from the air?","carbon dioxide","CO2"),("What gas do humans need to breathe?","oxygen"),
    ("What is frozen water called?","ice"),("At what temperature in Celsius does water freeze?","0","zero"),
    ("At what temperature in Celsius does water boil?","100","one hundred"),("What is H2O?","water"),
    ("What is the chemical symbol for gold?","Au"),("What is the chemical symbol for oxygen?","O"),
    ("What is the chemical symbol for sodium?","Na"),("What is the chemical symbol for iron?","Fe"),
    ("What organ pumps blood through the body?","heart","the heart"),("What organ do humans think with?","brain","the brain"),
    ("How many bones are in the adult human body?","206"),("What is the hardest natural substance?","diamond"),
    ("Which metal is liquid at room temperature?","mercury"),("What force pulls objects toward the Earth?","gravity"),
    ("Who wrote Romeo and Juliet?","William Shakespeare","Shakespeare"),("Who painted the Mona Lisa?","Leonardo da Vinci","Leonardo","da Vinci"),
    ("Who developed the theory of relativity?","Albert Einstein","Einstein"),("Who was the first person to walk on the Moon?","Neil Armstrong","Armstrong"),
    ("Who was the first President of the United States?","George Washington","Washington"),("Who discovered penicillin?","Alexander Fleming","Fleming"),
    ("Who wrote Hamlet?","William Shakespeare","Shakespeare"),("Who composed the Fifth Symphony that begins da-da-da-dum?","Ludwig van Beethoven","Beethoven"),
    ("In which city is the Eiffel Tower?","Paris"),("In which city is the Colosseum?","Rome"),("In which country are the pyramids of Giza?","Egypt"),
    ("In which country is the Taj Mahal?","India"),("In which city is the Statue of Liberty?","New York","New York City","NYC"),
    ("In which country is Big Ben?","United Kingdom","UK","England","Britain"),("What language is spoken in Brazil?","Portuguese"),
    ("What language is spoken in Mexico?","Spanish"),("What language is spoken in Germany?","German"),("What is the currency of Japan?","yen","Japanese yen"),
    ("What is the currency of the United Kingdom?","pound","pound sterling","pounds","sterling"),("What is the currency of the United States?","dollar","US dollar","dollars"),
    ("How many colours are in a rainbow?","7","seven"),("What is the first month of the year?","January"),("What is the last month of the year?","December"),
    ("What day comes after Monday?","Tuesday"),("What day comes after Friday?","Saturday"),("What day comes before Sunday?","Saturday"),
    ("What month comes after March?","April"),("What month comes after June?","July"),("What month comes before October?","September"),
    ("What season comes after winter?","spring"),("What season comes after summer?","autumn","fall"),("What is the coldest season?","winter"),
    ("What do you call a shape with three sides?","triangle"),("What do you call a shape with four equal sides?","square","rhombus"),
    ("What is the boiling point of water in Fahrenheit?","212"),("What is the square root of 81?","9","nine"),
    ("What is the square root of 64?","8","eight"),("What is 10 squared?","100","one hundred"),("What is half of 50?","25","twenty-five","twenty five"),
    ("What is the last letter of the English alphabet?","Z"),
    ("What do you use to write on a blackboard?","chalk"),("What do you call a person who flies an airplane?","pilot"),
    ("What do you call a person who treats sick animals?","vet","veterinarian"),("What do you call a doctor who treats teeth?","dentist"),
    ("What do you call a person who cooks in a restaurant?","chef","cook"),("What do you call a person who teaches at a school?","teacher"),
    ("What is the main ingredient of bread?","flour","wheat"),("What fruit is used to make wine?","grapes","grape"),
    ("What vegetable is used to make chips and fries?","potato","potatoes"),("What do you call the meal eaten in the morning?","breakfast")]:
    add("general", q, a, *al)

# Word knowledge: past tenses, comparatives, synonyms.
for v, p, *al in [("go","went"),("eat","ate"),("see","saw"),("run","ran"),("swim","swam"),("write","wrote"),("take","took"),
    ("give","gave"),("buy","bought"),("think","thought"),("sing","sang"),("drink","drank"),("fly","flew"),("speak","spoke"),
    ("come","came"),("find","found"),("teach","taught"),("catch","caught"),("sleep","slept"),("break","broke")]:
    add("past tense", f"What is the past tense of {v}?", p, *al)
for a, c, *al in [("good","better"),("bad","worse"),("big","bigger"),("small","smaller"),("happy","happier"),
    ("far","farther","further"),("tall","taller"),("fast","faster"),("old","older","elder"),("hot","hotter")]:
    add("comparative", f"What is the comparative form of {a}?", c, *al)
for w, s, *al in [("big","large","huge","great","giant"),("small","little","tiny"),("happy","glad","joyful","cheerful"),("quick","fast","rapid","speedy"),
    ("begin","start","commence"),("stone","rock","pebble"),("shut","close","closed"),("gift","present"),("smart","clever","intelligent","bright"),
    ("angry","mad","furious","cross")]:
    add("synonym", f"What is a synonym of {w}?", s, *al)

ids = {}
rows = []
for cat, q, a, al in items:
    prefix = cat.split()[0][:4]
    ids[prefix] = ids.get(prefix, 0) + 1
    # de-duplicate aliases, keep order
    seen_a = []
    for x in al:
        if x not in seen_a: seen_a.append(x)
    rows.append({"id": f"{prefix}-{ids[prefix]:03d}", "question": q, "answer": a, "aliases": seen_a, "category": cat})
qs = [r["question"] for r in rows]
assert len(set(qs)) == len(qs), [q for q in qs if qs.count(q) > 1]
assert len({r["id"] for r in rows}) == len(rows)
for bad in ["What is the capital of Italy?", "What is 2 plus 3?", "What is the opposite of big?"]:
    assert bad not in qs, bad
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "facts.jsonl"), "w") as f:
    for r in rows: f.write(json.dumps(r, ensure_ascii=False) + "\n")
import collections
print(len(rows), collections.Counter(r["category"] for r in rows))
